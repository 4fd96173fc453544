package dev.cacheaside.core;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Counts the store calls the bulk path makes (one count per subscription, that is per round
 * trip), and can fail the multi-get on demand.
 */
final class CountingStore extends ForwardingCacheStore {
  final AtomicInteger gets = new AtomicInteger();
  final AtomicInteger getAlls = new AtomicInteger();
  final AtomicInteger getAllKeys = new AtomicInteger();
  final AtomicInteger getOrLeases = new AtomicInteger();
  final AtomicInteger getOrLeaseAlls = new AtomicInteger();
  final AtomicInteger setAlls = new AtomicInteger();
  final AtomicInteger setAllIfLeaseds = new AtomicInteger();
  final AtomicInteger sets = new AtomicInteger();
  final AtomicInteger releases = new AtomicInteger();
  volatile boolean failGetAll;

  CountingStore(CacheStore delegate) {
    super(delegate);
  }

  @Override
  public Mono<byte[]> get(String key) {
    return super.get(key).doOnSubscribe(s -> gets.incrementAndGet());
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return Mono.defer(() -> {
      getAlls.incrementAndGet();
      getAllKeys.addAndGet(keys.size());
      return failGetAll ? Mono.error(new IllegalStateException("getAll is down"))
          : super.getAll(keys);
    });
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return super.getOrLease(key, leaseTtl).doOnSubscribe(s -> getOrLeases.incrementAndGet());
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return super.getOrLeaseAll(keys, leaseTtl).doOnSubscribe(s -> getOrLeaseAlls.incrementAndGet());
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return super.set(key, value, ttl).doOnSubscribe(s -> sets.incrementAndGet());
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return super.setAll(entries).doOnSubscribe(s -> setAlls.incrementAndGet());
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return super.setAllIfLeased(entries).doOnSubscribe(s -> setAllIfLeaseds.incrementAndGet());
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return super.releaseLease(key, token).doOnSubscribe(s -> releases.incrementAndGet());
  }
}
