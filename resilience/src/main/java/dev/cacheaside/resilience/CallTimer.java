package dev.cacheaside.resilience;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;

/**
 * The one timer behind the time limits of a {@link ResilientCacheStore}'s calls, instead of a
 * scheduled timeout per call. A call notes the current tick when it is sent and drops itself into
 * the bucket of the tick at which its limit runs out (one lock-free queue offer); each tick the
 * timer empties that tick's bucket and expires the calls in it that are still waiting. Calls that
 * answered in time are simply dropped with their bucket, so answering costs the timer nothing.
 *
 * <p>Time here is counted in ticks, and a tick is counted when the timer runs: when the JVM stalls
 * (a GC pause, its threads starved of CPU), the timer runs late and fewer ticks pass, so a call is
 * not cut off for time the JVM itself lost. The same count tells a call that took long in wall
 * time whether the JVM lagged meanwhile ({@link #lagged}): a slow call that the timer could not
 * keep up with is not held against the store.
 *
 * <p>The timer runs only while a bucket holds a call, so an idle store schedules nothing.
 */
final class CallTimer {
  /** A call the timer may expire. */
  interface Expirable {
    /** Fails the call with a timeout, unless it has ended already. */
    void expire();
  }

  /** Ticks per shortest limit: a call expires between its limit and 1.25 times it. */
  private static final int TICKS_PER_LIMIT = 4;
  /** The most buckets: a longest limit far above the shortest coarsens the ticks instead. */
  private static final int MAX_BUCKETS = 256;

  private final long periodNanos;
  private final Scheduler scheduler;
  private final ConcurrentLinkedQueue<Expirable>[] buckets;
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile int tick;

  /**
   * @param shortest the shortest limit a call will ask for: the period is a quarter of it (or
   *     longer, if the longest limit would need more than {@value #MAX_BUCKETS} buckets)
   * @param longest the longest limit a call will ask for: sizes the ring of buckets
   */
  @SuppressWarnings("unchecked")
  CallTimer(Duration shortest, Duration longest, Scheduler scheduler) {
    this.periodNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(1), Math.max(
        shortest.toNanos() / TICKS_PER_LIMIT, longest.toNanos() / (MAX_BUCKETS - 2)));
    this.scheduler = scheduler;
    this.buckets = new ConcurrentLinkedQueue[ticks(longest) + 2];
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = new ConcurrentLinkedQueue<>();
    }
  }

  /** The ticks a limit lasts: a call sent at tick {@code t} expires at tick {@code t + ticks + 1}. */
  int ticks(Duration limit) {
    return (int) Math.max(1, (limit.toNanos() + periodNanos - 1) / periodNanos);
  }

  /** The timer's period in nanoseconds. */
  long periodNanos() {
    return periodNanos;
  }

  /** The current tick. */
  int tick() {
    return tick;
  }

  /**
   * Registers a call being sent now, to be expired {@code ticks} ticks from now; starts the timer
   * if it is not running.
   *
   * @return the tick at which it was sent
   */
  int schedule(Expirable call, int ticks) {
    int sent = tick;
    buckets[Math.floorMod(sent + ticks + 1, buckets.length)].offer(call);
    if (!running.get() && running.compareAndSet(false, true)) {
      arm();
    }
    return sent;
  }

  /**
   * Whether the JVM lagged while a call sent at tick {@code sentAt} took {@code elapsedNanos}: the
   * timer saw fewer than three quarters of the ticks that so long a time holds (less one, for the
   * tick under way when it was sent), so this JVM, not the store, lost time meanwhile.
   */
  boolean lagged(int sentAt, long elapsedNanos) {
    long seen = tick - sentAt + 1L;
    return seen * periodNanos * 4 < elapsedNanos * 3;
  }

  private void arm() {
    try {
      Disposable unused = scheduler.schedule(this::run, periodNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException shutDown) {
      running.set(false);
    }
  }

  private void run() {
    int now = ++tick;
    ConcurrentLinkedQueue<Expirable> due = buckets[Math.floorMod(now, buckets.length)];
    for (Expirable call = due.poll(); call != null; call = due.poll()) {
      call.expire();
    }
    if (!idle()) {
      // Re-armed from now, not at a fixed rate: a late tick pushes the next one back, so the JVM's
      // own lag stretches the limits rather than eating into them.
      arm();
      return;
    }
    running.set(false);
    // A call may have been registered between the look and the flag: look once more.
    if (!idle() && running.compareAndSet(false, true)) {
      arm();
    }
  }

  private boolean idle() {
    for (ConcurrentLinkedQueue<Expirable> bucket : buckets) {
      if (!bucket.isEmpty()) {
        return false;
      }
    }
    return true;
  }
}
