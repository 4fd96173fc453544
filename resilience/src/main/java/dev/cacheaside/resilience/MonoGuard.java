package dev.cacheaside.resilience;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * One store call under a guard ({@link Rules}, which {@code Guard} implements): the circuit
 * breaker's permission on subscribe, the
 * outcome reported to the breaker with the call's duration, and the time limit kept by the
 * guard's shared {@link CallTimer}. One subscriber per call and nothing scheduled, where
 * Resilience4j's own operators cost a deferred assembly, two subscribers and a scheduled timeout
 * per call.
 *
 * <p>Signals: the value, completion or error of the store as they come, each reported to the
 * breaker once; a call that outlives its limit fails with a {@link CallTimeoutException}
 * delivered on the timer's thread, and the store's late answer is dropped. A cancel before any
 * answer gives the breaker's permission back (a half-open breaker lets another probe through),
 * unless the call had already taken longer than the breaker's slow-call threshold: then it counts
 * as a slow call, since a caller that gave up on a slow store is evidence about the store.
 */
final class MonoGuard<T> extends Mono<T> {
  /** No time limit: the call waits for the store or its caller (deletes). */
  static final int NO_LIMIT = -1;
  /** The tick of a call without a time limit: never on the timer. */
  static final int UNTIMED = Integer.MIN_VALUE;

  /** What a call asks of its guard, and tells it: the rules it runs under. */
  interface Rules {
    /** Whether reads of {@code key} are held back (its invalidation is owed). */
    boolean holdsBack(String key);

    /** The error of a read held back; counts it. */
    Throwable heldBack();

    /** Asks the breaker for a call. */
    boolean acquire();

    /** The error of a call the breaker did not let through; counts it. */
    Throwable notPermitted();

    /** The timer that keeps the limits. */
    CallTimer timer();

    /** The breaker's clock now. */
    long now();

    /** The store answered, a value or empty. */
    void succeeded(long start, int sentTick);

    /** The store failed the call. */
    void failed(long start, Throwable e);

    /** The call outlived its limit; returns the error for its caller. */
    Throwable timedOut(long start);

    /** The caller gave up before any answer. */
    void cancelled(long start, int sentTick);
  }

  private final Mono<T> source;
  private final Rules guard;
  private final int limitTicks;
  private final @Nullable String heldBackKey;
  private final boolean permitted;

  /**
   * @param limitTicks the time limit in timer ticks, or {@link #NO_LIMIT}
   * @param heldBackKey a key whose owed invalidation keeps this read from the store, or null
   * @param permitted whether the breaker's permission was acquired already (a background probe)
   */
  MonoGuard(Mono<T> source, Rules guard, int limitTicks, @Nullable String heldBackKey,
      boolean permitted) {
    this.source = source;
    this.guard = guard;
    this.limitTicks = limitTicks;
    this.heldBackKey = heldBackKey;
    this.permitted = permitted;
  }

  @Override
  public void subscribe(CoreSubscriber<? super T> actual) {
    if (heldBackKey != null && guard.holdsBack(heldBackKey)) {
      Operators.error(actual, guard.heldBack());
      return;
    }
    if (!permitted && !guard.acquire()) {
      Operators.error(actual, guard.notPermitted());
      return;
    }
    source.subscribe(new GuardSubscriber<>(actual, guard, limitTicks));
  }

  static final class GuardSubscriber<T>
      implements CoreSubscriber<T>, Subscription, CallTimer.Expirable {
    private static final int WAITING = 0;
    private static final int ANSWERED = 1;
    private static final int EXPIRED = 2;
    private static final int CANCELLED = 3;
    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<GuardSubscriber> STATE =
        AtomicIntegerFieldUpdater.newUpdater(GuardSubscriber.class, "state");

    private final Rules guard;
    private final int limitTicks;
    private final long start;
    /**
     * Cleared, with {@link #upstream}, once the call has ended: the timer holds this object until
     * the call's limit runs out, and must not hold the reads behind it meanwhile.
     */
    private @Nullable CoreSubscriber<? super T> actual;
    private @Nullable Subscription upstream;
    /** The timer's tick when the call was sent; {@link #UNTIMED} without a limit. */
    private int sentTick = UNTIMED;
    private volatile int state;

    GuardSubscriber(CoreSubscriber<? super T> actual, Rules guard, int limitTicks) {
      this.actual = actual;
      this.guard = guard;
      this.limitTicks = limitTicks;
      this.start = guard.now();
    }

    @Override
    public Context currentContext() {
      CoreSubscriber<? super T> a = actual;
      return a != null ? a.currentContext() : Context.empty();
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (Operators.validate(upstream, s)) {
        upstream = s;
        // Registered only now, so that the timer never expires a call it cannot cancel.
        if (limitTicks != NO_LIMIT) {
          sentTick = guard.timer().schedule(this, limitTicks);
        }
        CoreSubscriber<? super T> a = actual;
        if (a != null) {
          a.onSubscribe(this);
        }
      }
    }

    @Override
    public void onNext(T value) {
      if (STATE.compareAndSet(this, WAITING, ANSWERED)) {
        guard.succeeded(start, sentTick);
        CoreSubscriber<? super T> a = actual;
        if (a != null) {
          a.onNext(value);
        }
      }
      // Otherwise the call expired or was cancelled: its answer is nobody's any more.
    }

    @Override
    public void onError(Throwable e) {
      if (STATE.compareAndSet(this, WAITING, ANSWERED)) {
        guard.failed(start, e);
        deliverError(e);
      }
    }

    @Override
    public void onComplete() {
      int s = state;
      if (s == WAITING && STATE.compareAndSet(this, WAITING, ANSWERED)) {
        guard.succeeded(start, sentTick);
      } else if (s != ANSWERED) {
        return;
      }
      CoreSubscriber<? super T> a = actual;
      actual = null;
      upstream = null;
      if (a != null) {
        a.onComplete();
      }
    }

    @Override
    public void expire() {
      if (STATE.compareAndSet(this, WAITING, EXPIRED)) {
        cancelUpstream();
        deliverError(guard.timedOut(start));
      }
    }

    @Override
    public void request(long n) {
      Subscription s = upstream;
      if (s != null) {
        s.request(n);
      }
    }

    @Override
    public void cancel() {
      if (STATE.compareAndSet(this, WAITING, CANCELLED)) {
        guard.cancelled(start, sentTick);
      }
      actual = null;
      cancelUpstream();
    }

    private void cancelUpstream() {
      Subscription s = upstream;
      upstream = null;
      if (s != null) {
        s.cancel();
      }
    }

    private void deliverError(Throwable e) {
      CoreSubscriber<? super T> a = actual;
      actual = null;
      upstream = null;
      if (a != null) {
        a.onError(e);
      }
    }
  }
}
