package dev.cacheaside.core;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;

/**
 * Bounds the hit path's store reads with one timer per cache instead of one per read: the read
 * notes the timer's tick when it is sent (a volatile read, no clock call, nothing scheduled), and
 * the timer, ticking a few times per store timeout while reads are in flight, expires those sent
 * four to five ticks ago, so a read fails between 1 and 1.25 times the store timeout after it was
 * sent. The timer stops when a tick finds nothing in flight and starts again with the next read,
 * so an idle cache schedules nothing.
 */
final class StoreDeadline {
  /** A store read that can be expired: it fails as a store error if it was sent before the tick. */
  interface Timed {
    /** Expires this read if it is still waiting for the store and was sent at {@code tick} or before. */
    void expireIfSentBy(int tick);
  }

  /** Ticks per timeout: a read expires four or five ticks after it was sent. */
  private static final int TICKS = 4;

  private final long periodMillis;
  private final Scheduler scheduler;
  private final Supplier<? extends Iterable<?>> inFlight;
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile int tick;

  /**
   * @param inFlight what may be waiting for the store: every {@link Timed} in it is checked on
   *     each tick, other objects are skipped
   */
  StoreDeadline(Duration timeout, Scheduler scheduler, Supplier<? extends Iterable<?>> inFlight) {
    this.periodMillis = Math.max(1, timeout.toMillis() / TICKS);
    this.scheduler = scheduler;
    this.inFlight = inFlight;
  }

  /** The tick to note when a read is sent; starts the timer if it is not running. */
  int sending() {
    if (!running.get() && running.compareAndSet(false, true)) {
      schedule();
    }
    return tick;
  }

  private void schedule() {
    try {
      Disposable unused = scheduler.schedule(this::tick, periodMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException shutDown) {
      running.set(false);
    } catch (RuntimeException | Error refused) {
      // Not running after all: the next read tries to start the timer again. The read that
      // called sending() fails with this error, never waits unbounded.
      running.set(false);
      throw refused;
    }
  }

  private void tick() {
    int now = ++tick;
    boolean any = false;
    for (Object candidate : inFlight.get()) {
      if (candidate instanceof Timed timed) {
        any = true;
        timed.expireIfSentBy(now - TICKS - 1);
      }
    }
    if (any) {
      rearm(now);
      return;
    }
    running.set(false);
    // A read may have noted the tick between the scan and the flag: look once more.
    for (Object candidate : inFlight.get()) {
      if (candidate instanceof Timed && running.compareAndSet(false, true)) {
        rearm(now);
        return;
      }
    }
  }

  /**
   * Schedules the next tick for the reads in flight. If the scheduler throws, nothing would tick
   * again until another read is sent, and none may come: the reads waiting now could wait for
   * ever. They are all cut off at once instead, early rather than never (the loader answers
   * them), and the error goes to the scheduler's handler; the next read arms the timer again.
   */
  private void rearm(int now) {
    try {
      schedule();
    } catch (RuntimeException | Error refused) {
      for (Object candidate : inFlight.get()) {
        if (candidate instanceof Timed timed) {
          timed.expireIfSentBy(now);
        }
      }
      throw refused;
    }
  }
}
