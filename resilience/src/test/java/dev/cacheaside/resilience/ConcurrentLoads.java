package dev.cacheaside.resilience;

import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/** Counts loads running at once and remembers the most, for bulkhead tests. */
final class ConcurrentLoads {
  private static final int RUNNING = 0;
  private static final int ENDING = 1;
  private static final int ENDED = 2;

  final AtomicInteger active = new AtomicInteger();
  final AtomicInteger max = new AtomicInteger();
  final AtomicInteger calls = new AtomicInteger();

  /**
   * A load is running from its subscription until it signals its end (before that signal
   * travels on, so before the bulkhead sees it) or is cancelled.
   *
   * <p>A load can end on two threads at once: its value arrives on one while a timeout cancels
   * it on another. Whichever thread loses the race goes on to return the load's permit, so it
   * must not return before the winner's decrement is visible: otherwise the next load, started
   * with that permit, counts itself while the ended one is still counted (a cap of 4 read as 5,
   * seen once in a full build). The loser therefore waits for the winner's decrement, which is
   * one instruction away; a spin, since BlockHound forbids parking on these threads.
   */
  <T> Mono<T> track(Mono<T> load) {
    return Mono.defer(() -> {
      calls.incrementAndGet();
      max.accumulateAndGet(active.incrementAndGet(), Math::max);
      AtomicInteger state = new AtomicInteger(RUNNING);
      Runnable end = () -> {
        if (state.compareAndSet(RUNNING, ENDING)) {
          active.decrementAndGet();
          state.set(ENDED);
          return;
        }
        while (state.get() != ENDED) {
          // the winner is between its compareAndSet and its set
        }
      };
      return load.doOnTerminate(end).doOnCancel(end);
    });
  }
}
