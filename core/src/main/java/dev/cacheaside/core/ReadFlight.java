package dev.cacheaside.core;

import dev.cacheaside.core.Entries.Decoded;
import dev.cacheaside.core.spi.CacheStore;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
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
final class ReadFlight<K, V> extends Mono<Outcome<V>> implements CoreSubscriber<byte[]> {

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
  private static final Inner[] EMPTY = new Inner[0];
  @SuppressWarnings("rawtypes")
  private static final Inner[] TERMINATED = new Inner[0];
  @SuppressWarnings("rawtypes")
  private static final AtomicReferenceFieldUpdater<ReadFlight, Inner[]> SUBSCRIBERS =
      AtomicReferenceFieldUpdater.newUpdater(ReadFlight.class, Inner[].class, "subscribers");
  @SuppressWarnings("rawtypes")
  private static final AtomicIntegerFieldUpdater<ReadFlight> STARTED =
      AtomicIntegerFieldUpdater.newUpdater(ReadFlight.class, "started");
  @SuppressWarnings("rawtypes")
  private static final AtomicIntegerFieldUpdater<ReadFlight> ENDED =
      AtomicIntegerFieldUpdater.newUpdater(ReadFlight.class, "ended");

  private final CacheStore store;
  private final Read<K, V> read;
  private final Path<K, V> path;
  private final Runnable onTerminate;
  private final Scheduler scheduler;
  /**
   * The thread inside the store read's subscribe, while it is: an error it signals on that stack
   * is a synchronous rejection, and the slow path must not send the next store call from there
   * (see {@link OffStackErrors}). Written and compared by that thread only.
   */
  private @Nullable Thread subscribing;

  @SuppressWarnings("unchecked")
  private volatile Inner<V>[] subscribers = EMPTY;
  private volatile int started;
  private volatile int ended;
  /**
   * The context of the subscriber that starts the read (the first to arrive, or the winner of a
   * race between first arrivals), set before the read starts; the read runs in it.
   */
  private Context context = Context.empty();
  /** The store's answer; a Mono emits at most once, before it completes. */
  private byte @Nullable [] bytes;
  /** Written before {@link #TERMINATED} is published, read after it is seen. */
  private @Nullable Outcome<V> outcome;
  private @Nullable Throwable error;

  ReadFlight(CacheStore store, Read<K, V> read, Path<K, V> path, Runnable onTerminate,
      Scheduler scheduler) {
    this.store = store;
    this.read = read;
    this.scheduler = scheduler;
    this.path = path;
    this.onTerminate = onTerminate;
  }

  @Override
  public void subscribe(CoreSubscriber<? super Outcome<V>> actual) {
    Inner<V> inner = new Inner<>(actual, this);
    actual.onSubscribe(inner);
    if (!add(inner)) {
      deliver(inner);
      return;
    }
    if (STARTED.compareAndSet(this, 0, 1)) {
      context = actual.currentContext();
      Mono<byte[]> get;
      try {
        get = Objects.requireNonNull(store.get(read.storeKey()),
            "store returned a null Mono from get");
      } catch (Throwable e) {
        // Thrown, not signalled: bad input for the store (say, a key it refuses), not a store
        // outage, so the callers see it as they would from any operator.
        fail(Operators.onOperatorError(e, context));
        return;
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
    s.request(Long.MAX_VALUE);
  }

  @Override
  public void onNext(byte[] value) {
    bytes = value;
  }

  @Override
  public void onError(Throwable e) {
    // A failing read is a miss; the loader answers.
    if (subscribing == Thread.currentThread()) {
      try {
        scheduler.schedule(() -> continueWith(() -> path.miss(read, e)));
        return;
      } catch (RejectedExecutionException rejected) {
        // A disposed scheduler (shutdown): going on here is all that is left.
      }
    }
    continueWith(() -> path.miss(read, e));
  }

  @Override
  public void onComplete() {
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
    rest.subscribe(o -> finish(o, null), this::fail, () -> {
      if (subscribers != TERMINATED) {
        finish(null, null);
      }
    }, context);
  }

  private void fail(Throwable e) {
    finish(null, e);
  }

  /**
   * Ends the flight, once: leaves the map first, then hands the outcome to every subscriber. A
   * subscriber that throws (against the Reactive Streams rules) does not keep it from the others.
   */
  @SuppressWarnings("unchecked")
  private void finish(@Nullable Outcome<V> o, @Nullable Throwable e) {
    if (!ENDED.compareAndSet(this, 0, 1)) {
      return;
    }
    try {
      onTerminate.run();
    } catch (Throwable t) {
      Exceptions.throwIfJvmFatal(t);
      Operators.onErrorDropped(t, context);
    }
    outcome = o;
    error = e;
    for (Inner<V> inner : SUBSCRIBERS.getAndSet(this, TERMINATED)) {
      try {
        deliver(inner);
      } catch (Throwable t) {
        Exceptions.throwIfJvmFatal(t);
        Operators.onErrorDropped(t, inner.actual().currentContext());
      }
    }
  }

  private void deliver(Inner<V> inner) {
    if (inner.isCancelled()) {
      return;
    }
    Throwable e = error;
    Outcome<V> o = outcome;
    if (e != null) {
      inner.actual().onError(e);
    } else if (o != null) {
      inner.complete(o);
    } else {
      inner.actual().onComplete();
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private boolean add(Inner<V> inner) {
    for (;;) {
      Inner<V>[] current = subscribers;
      if (current == TERMINATED) {
        return false;
      }
      Inner<V>[] next = new Inner[current.length + 1];
      System.arraycopy(current, 0, next, 0, current.length);
      next[current.length] = inner;
      if (SUBSCRIBERS.compareAndSet(this, current, next)) {
        return true;
      }
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private void remove(Inner<V> inner) {
    for (;;) {
      Inner<V>[] current = subscribers;
      int index = -1;
      for (int i = 0; i < current.length; i++) {
        if (current[i] == inner) {
          index = i;
          break;
        }
      }
      if (index < 0) {
        return;
      }
      Inner<V>[] next = new Inner[current.length - 1];
      System.arraycopy(current, 0, next, 0, index);
      System.arraycopy(current, index + 1, next, index, current.length - index - 1);
      if (SUBSCRIBERS.compareAndSet(this, current, next)) {
        return;
      }
    }
  }

  /** One subscriber: demand and cancel as any {@code Mono}; cancel detaches it only. */
  private static final class Inner<V> extends Operators.MonoSubscriber<Outcome<V>, Outcome<V>> {
    private final ReadFlight<?, V> parent;

    Inner(CoreSubscriber<? super Outcome<V>> actual, ReadFlight<?, V> parent) {
      super(actual);
      this.parent = parent;
    }

    @Override
    public void cancel() {
      super.cancel();
      parent.remove(this);
    }
  }
}
