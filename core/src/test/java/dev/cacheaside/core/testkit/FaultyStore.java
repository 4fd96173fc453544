package dev.cacheaside.core.testkit;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * A store that can go down (every call fails at once with "store is down", like a refused
 * connection) or freeze (no call ever answers, like a stalled server), can lose deletes alone or
 * answer late (after {@link #delay}, deletes after {@link #deleteDelay}, on {@link #clock}: a
 * virtual one in tests of timing), and counts the calls that reached it. The mode is read when a
 * call is subscribed.
 */
public final class FaultyStore extends ForwardingCacheStore {
  /** How the store answers. */
  public enum Mode {
    /** Calls go through to the delegate. */
    UP,
    /** Calls fail at once with an {@link IllegalStateException} "store is down". */
    DOWN,
    /** Calls never answer. */
    FROZEN
  }

  /** How the store answers calls subscribed from now on. */
  public volatile Mode mode = Mode.UP;
  /**
   * Deletes alone fail ("delete lost") while set and the store is up: an invalidation lost while
   * reads work.
   */
  public volatile boolean failDeletes;
  /** How long the store takes to answer any call but a delete while up. */
  public volatile Duration delay = Duration.ZERO;
  /** How long the store takes to answer a delete while up. */
  public volatile Duration deleteDelay = Duration.ZERO;
  /** What {@link #delay} and {@link #deleteDelay} are counted on. */
  public volatile Scheduler clock = Schedulers.parallel();
  /** Calls subscribed, in any mode; a multi-valued call counts once. */
  public final AtomicInteger calls = new AtomicInteger();
  /** Deletes subscribed, in any mode (a failed try counts). */
  public final AtomicInteger deletes = new AtomicInteger();
  /** Pings subscribed, in any mode. */
  public final AtomicInteger pings = new AtomicInteger();

  /** A store in front of {@code delegate}, up. */
  public FaultyStore(CacheStore delegate) {
    super(delegate);
  }

  @Override
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    return Mono.defer(() -> {
      calls.incrementAndGet();
      boolean delete = operation == Operation.DELETE;
      if (delete) {
        deletes.incrementAndGet();
      }
      if (operation == Operation.PING) {
        pings.incrementAndGet();
      }
      Duration late = delete ? deleteDelay : delay;
      return switch (mode) {
        case UP -> delete && failDeletes
            ? Mono.<T>error(new IllegalStateException("delete lost"))
            : late.isZero() ? call : Mono.delay(late, clock).then(call);
        case DOWN -> Mono.<T>error(new IllegalStateException("store is down"));
        case FROZEN -> Mono.<T>never();
      };
    });
  }

  /** Collected, so that a down or frozen store fails or stalls the whole call, as one reply. */
  @Override
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    return around(operation, call.collectList()).flatMapIterable(items -> items);
  }
}
