package dev.cacheaside.core;

import java.util.List;
import java.util.Objects;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/**
 * The bulk read behind {@code cacheAsideAll}: the key stream is cut into windows
 * ({@code bufferTimeout} with fair backpressure, so an unbounded key stream is pulled only as fast
 * as results are consumed), and at most {@code bulkConcurrency} windows run at a time, each a
 * {@link BulkWindow}. Keys are formatted as they arrive, so a bad key fails the stream early.
 */
final class BulkRead<K, V> {
  private final Services<K, V> services;

  BulkRead(Services<K, V> services) {
    this.services = services;
  }

  Flux<BulkResult<K, V>> read(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      BulkOrder order) {
    Objects.requireNonNull(keys, "keys must not be null");
    Objects.requireNonNull(loader, "loader must not be null");
    Objects.requireNonNull(order, "order must not be null");
    CacheSettings.Bulk options = services.settings().bulk();
    BulkLoads<K, V> loads = new BulkLoads<>(services, loader);
    Flux<List<BulkWindow.Request<K>>> windows = windows(keys);
    Flux<BulkResult<K, V>> results = order == BulkOrder.COMPLETION
        ? windows.flatMap(w -> new BulkWindow<>(services, loads, w, order).completionOrder(),
            options.concurrency())
        : windows.flatMapSequential(w -> new BulkWindow<>(services, loads, w, order).requestOrder(),
            options.concurrency());
    if (!options.failOnLoadError()) {
      return results;
    }
    return results.handle((result, sink) -> {
      Throwable error = result.error();
      if (error != null) {
        sink.error(error);
      } else {
        sink.next(result);
      }
    });
  }

  /** The key stream as windows of requests: formatted as they arrive, cut by size and time. */
  Flux<List<BulkWindow.Request<K>>> windows(Publisher<? extends K> keys) {
    CacheSettings.Bulk options = services.settings().bulk();
    Namespace<K> namespace = services.namespace();
    return Flux.<K>from(keys)
        .map(key -> new BulkWindow.Request<>(key, namespace.entryKey(key)))
        .bufferTimeout(options.windowSize(), options.windowTime(),
            services.settings().scheduler(), true);
  }
}
