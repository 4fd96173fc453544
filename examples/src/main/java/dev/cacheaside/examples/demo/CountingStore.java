package dev.cacheaside.examples.demo;

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
 * Counts the store round trips the library makes, by kind, so the demo can show them: a decorator
 * of the store SPI, not a mock of Redis (every call still goes to the real server).
 */
final class CountingStore extends ForwardingCacheStore {
  final LongAdder singleReads = new LongAdder();
  final LongAdder multiGets = new LongAdder();
  final LongAdder multiLeases = new LongAdder();
  final LongAdder batchedStores = new LongAdder();

  CountingStore(CacheStore delegate) {
    super(delegate);
  }

  @Override
  public Mono<byte[]> get(String key) {
    return Mono.defer(() -> {
      singleReads.increment();
      return super.get(key);
    });
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return Mono.defer(() -> {
      singleReads.increment();
      return super.getOrLease(key, leaseTtl);
    });
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return Mono.defer(() -> {
      multiGets.increment();
      return super.getAll(keys);
    });
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    return Flux.defer(() -> {
      multiLeases.increment();
      return super.getOrLeaseAll(keys, leaseTtl);
    });
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return Mono.defer(() -> {
      batchedStores.increment();
      return super.setAll(entries);
    });
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return Flux.defer(() -> {
      batchedStores.increment();
      return super.setAllIfLeased(entries);
    });
  }
}
