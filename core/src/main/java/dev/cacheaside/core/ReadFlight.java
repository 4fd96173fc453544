package dev.cacheaside.core;

import dev.cacheaside.core.Entries.Decoded;
import dev.cacheaside.core.spi.CacheStore;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.util.context.Context;

/**
 * One single-key read of the store, shared by every caller that subscribes to it: the hit path
 * as one purpose-built operator.
 *
 * <p>Why not {@code store.get(k).onErrorResume(..).flatMap(..).switchIfEmpty(..)
 * .doOnEach(..).cache()}: on a hit, which is most reads, those six operators cost about a tenth
 * of the raw {@code GET}'s throughput (issue 2 measured 87 % of raw). Here a hit is one
 * subscription to the store's publisher and one decode, and the operator chain of the slow paths
 * (miss, stale, corrupt, store error) is built only when a read takes one of them.
 *
 * <p>Semantics are those of {@code cache()} on the chain above: the first subscriber starts the
 * read (in its context); later ones join it, and once it has ended they get its outcome at
 * once; a subscriber's cancel only detaches it, never cancelling the read the others wait on.
 * {@code onTerminate} runs before the outcome is handed to anybody, so a flight leaves the
 * in-flight map before its callers can act on its result.
 *
 * <p>What follows a store answer other than a fresh hit is its owner's: the flight is given a
 * {@link Path} (the single-key read's state machine, or, for a caller's own unshared read, a
 * step into a shared flight) and makes the rest of its outcome with it.
 */
final class ReadFlight<K, V> extends SharedOutcome<V>
    implements CoreSubscriber<byte[]>, StoreDeadline.Timed {

  /**
   * What every flight of a cache shares: the store; the scheduler an error signalled on the
   * subscriber's stack goes on from; the timer that bounds the store read; the in-flight map, where
   * a caller's own read is noted while it waits for the store (so the timer sees it).
   */
  record Env(CacheStore store, Scheduler scheduler, StoreDeadline deadline, Flights<?> flights,
      Duration storeTimeout) {}

  /**
   * What a flight does with the store's answer to its read; at most one method but
   * {@link #decode} runs per flight. One instance serves every flight of a cache, so the hit path
   * allocates nothing for it.
   */
  interface Path<K, V> {
    /** Decodes the bytes found. Never I/O. */
    Decoded<V> decode(Read<K, V> read, byte[] bytes);

    /** The outcome of a fresh entry (which may start an early refresh). Never I/O. */
    Outcome<V> fresh(Read<K, V> read, Decoded<V> decoded);

    /**
     * The rest of a read whose store answer was no entry, or a failure ({@code storeError}
     * non-null: count it, then treat it as a miss).
     */
    Mono<Outcome<V>> miss(Read<K, V> read, @Nullable Throwable storeError);

    /** The rest of a read that found a stale or corrupt entry. */
    Mono<Outcome<V>> notFresh(Read<K, V> read, Decoded<V> decoded);
  }
  @SuppressWarnings("rawtypes")
  private static final AtomicIntegerFieldUpdater<ReadFlight> STARTED =
      AtomicIntegerFieldUpdater.newUpdater(ReadFlight.class, "started");
  @SuppressWarnings("rawtypes")
  private static final AtomicIntegerFieldUpdater<ReadFlight> ENDED =
      AtomicIntegerFieldUpdater.newUpdater(ReadFlight.class, "ended");
  @SuppressWarnings("rawtypes")
  private static final AtomicIntegerFieldUpdater<ReadFlight> ANSWERED =
      AtomicIntegerFieldUpdater.newUpdater(ReadFlight.class, "answered");

  /** {@link #sentTick} of a flight whose GET has not been sent yet. */
  private static final int NOT_SENT = Integer.MIN_VALUE;

  private final Env env;
  private final Read<K, V> read;
  private final Path<K, V> path;
  private final Runnable onTerminate;
  /** Whether this is a caller's own read (not in the in-flight map). */
  private final boolean own;
  /**
   * A fresh read of the same key, for a subscriber that arrives after the flight was abandoned;
   * null when abandoned flights are not cancelled ({@link AbandonedReads#FINISH}).
   */
  private final @Nullable Supplier<Mono<Outcome<V>>> restart;
  /** The store read's subscription, to cancel it when the flight is abandoned. */
  private volatile @Nullable Subscription get;
  /** The slow path's subscription, likewise; disposed on abandonment, even if made after it. */
  private final Disposable.Swap rest = Disposables.swap();
  /**
   * The thread inside the store read's subscribe, while it is: an error it signals on that stack
   * is a synchronous rejection, and the slow path must not send the next store call from there
   * (see {@link OffStackErrors}). Written and compared by that thread only.
   */
  private @Nullable Thread subscribing;

  private volatile int started;
  private volatile int ended;
  /** Set once the store read is answered, failed or expired: only the first of them counts. */
  private volatile int answered;
  /**
   * The store timeout's tick when the read was sent; {@link #NOT_SENT} until then. The timer sees
   * the flight as soon as it is in the in-flight map, and a started flight may not have sent its
   * GET yet (the store is still assembling it, or the thread was descheduled right there): such a
   * flight must not look as if it was sent at tick 0, and expire at once.
   */
  private int sentTick = NOT_SENT;
  /**
   * The context of the subscriber that starts the read (the first to arrive, or the winner of a
   * race between first arrivals), set before the read starts; the read runs in it.
   */
  private Context context = Context.empty();
  /** The store's answer; a Mono emits at most once, before it completes. */
  private byte @Nullable [] bytes;

  /**
   * A flight that reads {@code read} from the store and hands anything but a fresh hit to
   * {@code path}.
   *
   * @param onTerminate runs once when the flight ends or is abandoned, before anybody hears of
   *     it; null for a caller's own read, which is in no map
   * @param restart a fresh read of the key, for a subscriber that comes after the flight was
   *     abandoned; null to never cancel an abandoned flight
   */
  ReadFlight(Env env, Read<K, V> read, Path<K, V> path, @Nullable Runnable onTerminate,
      @Nullable Supplier<Mono<Outcome<V>>> restart) {
    this.env = env;
    this.read = read;
    this.own = onTerminate == null;
    this.restart = restart;
    this.path = path;
    this.onTerminate = onTerminate != null ? onTerminate : () -> { };
  }

  @Override
  public void subscribe(CoreSubscriber<? super Outcome<V>> actual) {
    Inner<V> inner = new Inner<>(actual, this);
    actual.onSubscribe(inner);
    Inner<V>[] ended = add(inner);
    if (ended == TERMINATED) {
      deliver(inner);
      return;
    }
    if (ended != null) {
      // Abandoned between this subscriber finding the flight and joining it: read afresh.
      inner.follow(Objects.requireNonNull(restart).get());
      return;
    }
    if (STARTED.compareAndSet(this, 0, 1)) {
      context = actual.currentContext();
      Mono<byte[]> get;
      try {
        get = Objects.requireNonNull(env.store().get(read.storeKey()),
            "store returned a null Mono from get");
      } catch (Throwable e) {
        // Thrown, not signalled: bad input for the store (say, a key it refuses), not a store
        // outage, so the callers see it as they would from any operator.
        fail(Operators.onOperatorError(e, context));
        return;
      }
      try {
        sentTick = env.deadline().sending();
      } catch (Throwable e) {
        // The scheduler refused the store timer in a way other than a shutdown: without it the
        // GET would be unbounded, and an escaped throw would leave every subscriber waiting.
        fail(Operators.onOperatorError(e, context));
        return;
      }
      if (own) {
        env.flights().ownReadSent(this);
      }
      subscribing = Thread.currentThread();
      try {
        get.subscribe(this);
      } finally {
        subscribing = null;
      }
    }
  }

  // The store's GET.

  @Override
  public Context currentContext() {
    return context;
  }

  @Override
  public void onSubscribe(Subscription s) {
    get = s;
    s.request(Long.MAX_VALUE);
  }

  @Override
  public void onNext(byte[] value) {
    bytes = value;
  }

  /** Takes the store's answer, once: false when the read was answered or expired already. */
  private boolean answer() {
    if (!ANSWERED.compareAndSet(this, 0, 1)) {
      return false;
    }
    if (own) {
      env.flights().ownReadAnswered(this);
    }
    return true;
  }

  @Override
  public void expireIfSentBy(int tick) {
    int sent = sentTick;
    if (sent != NOT_SENT && sent - tick <= 0 && answer()) {
      Subscription s = get;
      if (s != null) {
        s.cancel();
      }
      TimeoutException e = new TimeoutException("store get of " + read.storeKey()
          + " took longer than the store timeout " + env.storeTimeout());
      continueWith(() -> path.miss(read, e));
    }
  }

  @Override
  public void onError(Throwable e) {
    if (!answer()) {
      return;
    }
    // A failing read is a miss; the loader answers.
    if (subscribing == Thread.currentThread()) {
      try {
        env.scheduler().schedule(() -> continueWith(() -> path.miss(read, e)));
        return;
      } catch (RejectedExecutionException rejected) {
        // A disposed scheduler (shutdown): going on here is all that is left.
      }
    }
    continueWith(() -> path.miss(read, e));
  }

  @Override
  public void onComplete() {
    if (!answer()) {
      return;
    }
    byte[] found = bytes;
    bytes = null;
    if (found == null) {
      continueWith(() -> path.miss(read, null));
      return;
    }
    Decoded<V> decoded;
    Outcome<V> hit = null;
    try {
      decoded = path.decode(read, found);
      if (decoded.state() == Decoded.State.FRESH) {
        hit = path.fresh(read, decoded);
      }
    } catch (Throwable e) {
      fail(Operators.onOperatorError(e, context));
      return;
    }
    if (hit != null) {
      finish(hit, null);
      return;
    }
    continueWith(() -> path.notFresh(read, decoded));
  }

  /** A slow path: its outcome (or error) becomes this flight's. */
  private void continueWith(Supplier<Mono<Outcome<V>>> next) {
    Mono<Outcome<V>> rest;
    try {
      rest = Objects.requireNonNull(next.get(), "slow path returned null");
    } catch (Throwable e) {
      fail(Operators.onOperatorError(e, context));
      return;
    }
    // Slow paths are rare; a lambda subscriber is enough. A value ends the flight; completing
    // without one (the flight is still open then) ends it empty.
    this.rest.update(rest.subscribe(o -> finish(o, null), this::fail, () -> {
      if (!terminated()) {
        finish(null, null);
      }
    }, context));
  }

  /**
   * The last subscriber cancelled: unless somebody joined meanwhile or the flight is ending, the
   * flight leaves the map and its read is cancelled wherever it is (the store read, a wait for a
   * lease, a load not started yet; see {@link AbandonedReads}).
   */
  private void abandon() {
    if (!abandonIfEmpty()) {
      return;
    }
    if (!end()) {
      // Ending already: finish() replaces the marker and answers late subscribers itself.
      return;
    }
    Subscription read = get;
    if (read != null) {
      read.cancel();
    }
    rest.dispose();
  }

  /** Marks the flight ended and leaves the map, once; false if it had ended already. */
  private boolean end() {
    if (!ENDED.compareAndSet(this, 0, 1)) {
      return false;
    }
    try {
      onTerminate.run();
    } catch (Throwable t) {
      Exceptions.throwIfJvmFatal(t);
      Operators.onErrorDropped(t, context);
    }
    return true;
  }

  private void fail(Throwable e) {
    finish(null, e);
  }

  /**
   * Ends the flight, once: leaves the map first, then hands the outcome to every subscriber.
   */
  private void finish(@Nullable Outcome<V> o, @Nullable Throwable e) {
    if (!end()) {
      return;
    }
    deliverAll(o, e);
  }

  @Override
  void lastSubscriberLeft() {
    if (restart != null && started == 1) {
      abandon();
    }
  }
}
