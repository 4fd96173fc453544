package dev.cacheaside.resilience;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * A steady, bounded read load in the background: {@code workers} loops, each reading a key and
 * pausing {@code pause} before the next, on Reactor threads (so BlockHound watches them). Counts
 * what was served and keeps every failure.
 */
final class ReadLoad implements AutoCloseable {
  final LongAdder served = new LongAdder();
  final List<Throwable> failures = new CopyOnWriteArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final CountDownLatch stopped = new CountDownLatch(1);

  /** Starts it; {@code read} gets the worker's read count and returns the read. */
  ReadLoad(int workers, Duration pause, IntFunction<Mono<?>> read) {
    Flux.range(0, workers)
        .flatMap(worker -> {
          int[] count = {worker};
          return Mono.defer(() -> read.apply(count[0]++))
              .doOnSuccess(v -> served.increment())
              .onErrorResume(e -> {
                failures.add(e);
                return Mono.empty();
              })
              .then(Mono.delay(pause))
              .repeat(running::get)
              .subscribeOn(Schedulers.parallel());
        }, workers)
        .doFinally(signal -> stopped.countDown())
        .subscribe();
  }

  long served() {
    return served.sum();
  }

  /** Stops the loops and waits for the reads under way. */
  @Override
  public void close() {
    running.set(false);
    try {
      if (!stopped.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("the read load did not stop within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
