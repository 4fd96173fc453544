package dev.cacheaside.examples.batch;

import dev.cacheaside.core.CacheStore;
import dev.cacheaside.core.ForwardingCacheStore;
import dev.cacheaside.core.StoreLookup;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Counts the calls made to a cache store, each one command, script or pipeline: on a standalone
 * Redis, one round trip (a cluster splits multi-key calls by slot). Redis's own
 * {@code total_commands_processed} would count the commands run inside the lease scripts too,
 * several per key, which is not what a round trip costs. Every method of the SPI is overridden:
 * one left out would go uncounted.
 */
final class CountingStore extends ForwardingCacheStore {
  private final LongAdder calls = new LongAdder();

  CountingStore(CacheStore delegate) {
    super(delegate);
  }

  long calls() {
    return calls.sum();
  }

  private <T> Mono<T> counted(Mono<T> call) {
    return Mono.defer(() -> {
      calls.increment();
      return call;
    });
  }

  private <T> Flux<T> counted(Flux<T> call) {
    return Flux.defer(() -> {
      calls.increment();
      return call;
    });
  }

  @Override
  public Mono<byte[]> get(String key) {
    return counted(super.get(key));
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return counted(super.getAll(keys));
  }

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return counted(super.set(key, value, ttl));
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return counted(super.setAll(entries));
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    return counted(super.delete(keys));
  }

  @Override
  public Mono<Void> delete(String key) {
    return counted(super.delete(key));
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return counted(super.getOrLease(key, leaseTtl));
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return counted(super.getOrLeaseAll(keys, leaseTtl));
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return counted(super.tryLease(key, leaseTtl));
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return counted(super.setIfLeased(key, token, value, ttl));
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return counted(super.setAllIfLeased(entries));
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return counted(super.releaseLease(key, token));
  }

  @Override
  public Mono<Long> increment(String key) {
    return counted(super.increment(key));
  }
}
