package dev.cacheaside.resilience;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * A store that can go down (every call fails at once, like a refused connection), freeze (no
 * call ever answers, like a stalled server) or answer late (after {@code delay}, or deletes after
 * {@code deleteDelay}, on {@code clock}: a virtual one in tests of timing), and counts the calls
 * that reached it.
 */
final class FaultyStore extends ForwardingCacheStore {
  enum Mode { UP, DOWN, FROZEN }

  volatile Mode mode = Mode.UP;
  /** Deletes alone fail while set, whatever the mode: an invalidation lost while reads work. */
  volatile boolean failDeletes;
  /** How long an answering store takes to answer any call, and deletes. */
  volatile Duration delay = Duration.ZERO;
  volatile Duration deleteDelay = Duration.ZERO;
  volatile Scheduler clock = Schedulers.parallel();
  final AtomicInteger calls = new AtomicInteger();
  final AtomicInteger deletes = new AtomicInteger();
  final AtomicInteger pings = new AtomicInteger();

  FaultyStore(CacheStore delegate) {
    super(delegate);
  }

  @Override
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    Mono<T> reached = operation == Operation.DELETE ? lossyDelete(call) : call;
    return Mono.defer(() -> {
      calls.incrementAndGet();
      if (operation == Operation.PING) {
        pings.incrementAndGet();
      }
      Duration late = operation == Operation.DELETE ? deleteDelay : delay;
      return switch (mode) {
        case UP -> late.isZero() ? reached : Mono.delay(late, clock).then(reached);
        case DOWN -> Mono.error(new IllegalStateException("store is down"));
        case FROZEN -> Mono.never();
      };
    });
  }

  /** Collected, so that a down or frozen store fails or stalls the whole call, as one reply. */
  @Override
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    return around(operation, call.collectList()).flatMapIterable(items -> items);
  }

  private <T> Mono<T> lossyDelete(Mono<T> call) {
    return Mono.defer(() -> {
      deletes.incrementAndGet();
      return failDeletes ? Mono.error(new IllegalStateException("delete lost")) : call;
    });
  }
}
