package dev.cacheaside.core;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** A store that fails every call while {@link #failing} is set, and counts subscriptions. */
final class FaultyStore extends ForwardingCacheStore {
  volatile boolean failing;
  final AtomicInteger gets = new AtomicInteger();
  final AtomicInteger deletes = new AtomicInteger();

  FaultyStore(CacheStore delegate) {
    super(delegate);
  }

  private <T> Mono<T> guard(Mono<T> call) {
    return Mono.defer(() -> failing ? Mono.error(new IllegalStateException("store is down")) : call);
  }

  @Override
  public Mono<byte[]> get(String key) {
    return guard(super.get(key)).doOnSubscribe(s -> gets.incrementAndGet());
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return guard(super.getAll(keys));
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return guard(super.set(key, value, ttl));
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    return guard(super.delete(keys)).doOnSubscribe(s -> deletes.incrementAndGet());
  }

  @Override
  public Mono<Void> delete(String key) {
    return guard(super.delete(key)).doOnSubscribe(s -> deletes.incrementAndGet());
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return guard(super.getOrLease(key, leaseTtl));
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return guard(Mono.just(0)).thenMany(super.getOrLeaseAll(keys, leaseTtl));
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return guard(super.tryLease(key, leaseTtl));
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return guard(super.setIfLeased(key, token, value, ttl));
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return guard(super.releaseLease(key, token));
  }
}
