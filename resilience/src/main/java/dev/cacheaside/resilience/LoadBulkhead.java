package dev.cacheaside.resilience;

import dev.cacheaside.core.LoadDecorator;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Caps the loads from the database that run at the same time, so a cold cache or an outage of it
 * cannot flood the database: a {@link LoadDecorator} for
 * {@link dev.cacheaside.core.CacheAsideBuilder#loadDecorator}. Share one among the caches that load
 * from the same database.
 *
 * <pre>{@code
 * LoadBulkhead loads = LoadBulkhead.of("catalog-db", 16, Duration.ofSeconds(1));
 * CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("products")
 *     .store(store).codec(codec).loadDecorator(loads).build();
 * }</pre>
 *
 * <p>Permits come from a Resilience4j {@link Bulkhead} (its metrics and events work as usual). A
 * load over the cap waits for a permit in arrival order, without blocking a thread, for at most
 * the configured wait; then it fails with {@link BulkheadFullException}, a load failure to the
 * cache (served stale when a stale value within grace exists). A load's permit is returned when
 * the load terminates or is cancelled; a caller that cancels while waiting leaves the queue.
 *
 * @since 0.1
 */
public final class LoadBulkhead implements LoadDecorator {
  /** Default cap on concurrent loads: about what a database connection pool serves at once. */
  public static final int DEFAULT_MAX_CONCURRENT_LOADS = 16;
  /** Default longest wait for a permit. */
  public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(1);

  private static final int WAITING = 0;
  private static final int GRANTED = 1;
  private static final int GONE = 2;

  private final Bulkhead bulkhead;
  private final Duration maxWait;
  private final Scheduler timer;
  private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();
  private final AtomicInteger drainWip = new AtomicInteger();
  private final AtomicInteger waiting = new AtomicInteger();
  private final LongAdder waited = new LongAdder();
  private final LongAdder rejected = new LongAdder();

  private LoadBulkhead(String name, BulkheadConfig config, Scheduler timer) {
    // Resilience4j's own wait blocks the calling thread; this class waits without a thread, so
    // the bulkhead itself must never wait.
    this.bulkhead = Bulkhead.of(name,
        BulkheadConfig.from(config).maxWaitDuration(Duration.ZERO).build());
    this.maxWait = config.getMaxWaitDuration();
    this.timer = timer;
  }

  /** A bulkhead of {@link #DEFAULT_MAX_CONCURRENT_LOADS} loads with {@link #DEFAULT_MAX_WAIT}. */
  public static LoadBulkhead of(String name) {
    return of(name, DEFAULT_MAX_CONCURRENT_LOADS, DEFAULT_MAX_WAIT);
  }

  /**
   * A bulkhead of {@code maxConcurrentLoads} loads; a load over the cap waits at most
   * {@code maxWait} (zero: fails at once).
   */
  public static LoadBulkhead of(String name, int maxConcurrentLoads, Duration maxWait) {
    if (maxConcurrentLoads <= 0) {
      throw new IllegalArgumentException(
          "maxConcurrentLoads must be positive but was " + maxConcurrentLoads);
    }
    Objects.requireNonNull(maxWait, "maxWait must not be null");
    if (maxWait.isNegative()) {
      throw new IllegalArgumentException("maxWait must not be negative but was " + maxWait);
    }
    return of(name, BulkheadConfig.custom().maxConcurrentCalls(maxConcurrentLoads)
        .maxWaitDuration(maxWait).build());
  }

  /**
   * A bulkhead from a Resilience4j configuration: {@code maxConcurrentCalls} is the cap and
   * {@code maxWaitDuration} the longest wait, spent without blocking a thread.
   */
  public static LoadBulkhead of(String name, BulkheadConfig config) {
    return of(name, config, Schedulers.parallel());
  }

  /** As {@link #of(String, BulkheadConfig)}, with the scheduler that times the wait. */
  public static LoadBulkhead of(String name, BulkheadConfig config, Scheduler timer) {
    Objects.requireNonNull(name, "name must not be null");
    if (name.isBlank()) {
      throw new IllegalArgumentException("name must not be blank");
    }
    Objects.requireNonNull(config, "config must not be null");
    Objects.requireNonNull(timer, "timer must not be null");
    return new LoadBulkhead(name, config, timer);
  }

  /** The Resilience4j bulkhead that holds the permits (for its metrics and events). */
  public Bulkhead bulkhead() {
    return bulkhead;
  }

  /** The cap on concurrent loads. */
  public int maxConcurrentLoads() {
    return bulkhead.getBulkheadConfig().getMaxConcurrentCalls();
  }

  /** The longest a load waits for a permit. */
  public Duration maxWait() {
    return maxWait;
  }

  /** Loads waiting for a permit now. */
  public int waitingLoads() {
    return waiting.get();
  }

  /** Loads that did not get a permit at once and queued for one, since creation. */
  public long waitedLoads() {
    return waited.sum();
  }

  /** Loads that failed because no permit came within the wait, since creation. */
  public long rejectedLoads() {
    return rejected.sum();
  }

  /**
   * Holds {@code load} back until a permit is free, runs it, and returns the permit when it
   * terminates or is cancelled. Emits what {@code load} emits, or {@link BulkheadFullException}
   * if no permit came within the wait.
   */
  @Override
  public <T> Mono<T> decorate(Mono<T> load) {
    Objects.requireNonNull(load, "load must not be null");
    return Mono.<Permit>create(sink -> enqueue(new Waiter(sink)))
        .flatMap(permit -> load.doFinally(signal -> permit.release()));
  }

  private void enqueue(Waiter waiter) {
    waiter.sink.onCancel(waiter::cancel);
    waiting.incrementAndGet();
    waiters.offer(waiter);
    drain();
    if (waiter.state.get() != WAITING) {
      return;
    }
    waited.increment();
    if (maxWait.isZero()) {
      waiter.expire();
    } else {
      waiter.timer = timer.schedule(waiter::expire, maxWait.toMillis(), TimeUnit.MILLISECONDS);
      // The permit may have come while the timer was being set.
      if (waiter.state.get() != WAITING) {
        waiter.disposeTimer();
      }
    }
  }

  /**
   * Hands free permits to waiters in arrival order. One thread drains at a time; a release or an
   * arrival during a drain makes the draining thread go round again (work-in-progress counter),
   * so no permit is left idle while someone waits.
   */
  private void drain() {
    if (drainWip.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      for (;;) {
        Waiter head = waiters.peek();
        if (head == null) {
          break;
        }
        if (head.state.get() != WAITING) {
          waiters.poll();
          continue;
        }
        if (bulkhead.getMetrics().getAvailableConcurrentCalls() <= 0
            || !bulkhead.tryAcquirePermission()) {
          break;
        }
        waiters.poll();
        Permit permit = new Permit();
        if (!head.grant(permit)) {
          // Cancelled or expired between peek and grant: the permit goes back.
          permit.returnUnused();
        }
      }
      missed = drainWip.addAndGet(-missed);
    } while (missed != 0);
  }

  @Override
  public String toString() {
    return "LoadBulkhead[" + bulkhead.getName() + ", max=" + maxConcurrentLoads() + ", waiting="
        + waiting.get() + "]";
  }

  /** One load's right to run; returned exactly once. */
  private final class Permit {
    private final AtomicBoolean returned = new AtomicBoolean();

    /** The load ran (or was cancelled while running). */
    void release() {
      if (returned.compareAndSet(false, true)) {
        bulkhead.onComplete();
        drain();
      }
    }

    /** The load never ran. */
    void returnUnused() {
      if (returned.compareAndSet(false, true)) {
        bulkhead.releasePermission();
        drain();
      }
    }
  }

  /** A load waiting for a permit; exactly one of grant, expire and cancel wins. */
  private final class Waiter {
    final MonoSink<Permit> sink;
    final AtomicInteger state = new AtomicInteger(WAITING);
    volatile @Nullable Permit permit;
    volatile @Nullable Disposable timer;

    Waiter(MonoSink<Permit> sink) {
      this.sink = sink;
    }

    boolean grant(Permit granted) {
      permit = granted;
      if (!state.compareAndSet(WAITING, GRANTED)) {
        return false;
      }
      waiting.decrementAndGet();
      disposeTimer();
      sink.success(granted);
      return true;
    }

    void expire() {
      if (state.compareAndSet(WAITING, GONE)) {
        waiting.decrementAndGet();
        rejected.increment();
        sink.error(BulkheadFullException.createBulkheadFullException(bulkhead));
      }
    }

    void cancel() {
      if (state.compareAndSet(WAITING, GONE)) {
        waiting.decrementAndGet();
        disposeTimer();
        return;
      }
      // Granted, but the cancel came before the permit reached the load: the sink dropped it.
      Permit granted = permit;
      if (state.get() == GRANTED && granted != null) {
        granted.returnUnused();
      }
    }

    void disposeTimer() {
      Disposable t = timer;
      if (t != null) {
        t.dispose();
      }
    }
  }
}
