package dev.cacheaside.resilience;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/** Counts loads running at once and remembers the most, for bulkhead tests. */
final class ConcurrentLoads {
  final AtomicInteger active = new AtomicInteger();
  final AtomicInteger max = new AtomicInteger();
  final AtomicInteger calls = new AtomicInteger();

  /**
   * A load is running from its subscription until it signals its end (before that signal
   * travels on, so before the bulkhead sees it) or is cancelled.
   */
  <T> Mono<T> track(Mono<T> load) {
    return Mono.defer(() -> {
      calls.incrementAndGet();
      max.accumulateAndGet(active.incrementAndGet(), Math::max);
      AtomicBoolean ended = new AtomicBoolean();
      Runnable end = () -> {
        if (ended.compareAndSet(false, true)) {
          active.decrementAndGet();
        }
      };
      return load.doOnTerminate(end).doOnCancel(end);
    });
  }
}
