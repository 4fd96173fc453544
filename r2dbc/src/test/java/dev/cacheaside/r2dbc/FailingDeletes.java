package dev.cacheaside.r2dbc;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.util.Collection;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/**
 * A real store whose deletes (invalidations) fail while {@link #failures} is positive, each failure
 * using one up: an invalidation that cannot reach the cache, for tests of retry and reporting.
 */
final class FailingDeletes extends ForwardingCacheStore {
  final AtomicInteger failures = new AtomicInteger();
  final AtomicInteger attempts = new AtomicInteger();

  FailingDeletes(CacheStore delegate) {
    super(delegate);
  }

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    return Mono.defer(() -> {
      attempts.incrementAndGet();
      if (failures.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
        return Mono.error(new IllegalStateException("injected: the cache is unreachable"));
      }
      return super.delete(keys);
    });
  }

  @Override
  public Mono<Void> delete(String key) {
    return delete(java.util.List.of(key));
  }
}
