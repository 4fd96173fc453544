package dev.cacheaside.core;

import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * The subscriber side of a {@code Mono} whose one outcome many subscribers share: the set of
 * subscribers (a copy-on-write array, swapped by CAS), joining, leaving, and handing the outcome
 * to each, with {@code cache()}'s semantics: a subscriber that arrives after the end gets the
 * outcome at once, and a subscriber's cancel detaches only it. {@link ReadFlight} adds the read
 * that makes the outcome; it is a base class rather than a field so that the hit path allocates
 * one object per flight, not two.
 *
 * <p>Two end markers replace the array: {@link #TERMINATED} once the outcome is out, and
 * {@link #ABANDONED} once every subscriber left and the subclass gave the read up; a subscriber
 * that meets the latter must read afresh.
 */
abstract class SharedOutcome<V> extends Mono<Outcome<V>> {
  @SuppressWarnings("rawtypes")
  private static final Inner[] EMPTY = new Inner[0];
  @SuppressWarnings("rawtypes")
  static final Inner[] TERMINATED = new Inner[0];
  /** Every subscriber cancelled and the read was cancelled; a late one reads afresh. */
  @SuppressWarnings("rawtypes")
  static final Inner[] ABANDONED = new Inner[0];
  @SuppressWarnings("rawtypes")
  private static final AtomicReferenceFieldUpdater<SharedOutcome, Inner[]> SUBSCRIBERS =
      AtomicReferenceFieldUpdater.newUpdater(SharedOutcome.class, Inner[].class, "subscribers");

  @SuppressWarnings("unchecked")
  private volatile Inner<V>[] subscribers = EMPTY;
  /** Written before {@link #TERMINATED} is published, read after it is seen. */
  private @Nullable Outcome<V> outcome;
  private @Nullable Throwable error;

  /** The last subscriber left (cancelled) before the end: the subclass may abandon its read. */
  abstract void lastSubscriberLeft();

  /** Whether the outcome has been handed out. */
  final boolean terminated() {
    return subscribers == TERMINATED;
  }

  /** Marks the flight abandoned if nobody is subscribed: true when it did. */
  final boolean abandonIfEmpty() {
    return SUBSCRIBERS.compareAndSet(this, EMPTY, ABANDONED);
  }

  /**
   * Hands the outcome ({@code o}, or {@code e}, or neither: empty) to every subscriber, once the
   * caller made sure it ends only once. A subscriber that throws (against the Reactive Streams
   * rules) does not keep it from the others.
   */
  final void deliverAll(@Nullable Outcome<V> o, @Nullable Throwable e) {
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

  /** The outcome to one subscriber that joined after the end, or at the end. */
  final void deliver(Inner<V> inner) {
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

  /** Adds a subscriber; returns null when added, else the end marker that kept it out. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  final Inner<V> @Nullable [] add(Inner<V> inner) {
    for (;;) {
      Inner<V>[] current = subscribers;
      if (current == TERMINATED || current == ABANDONED) {
        return current;
      }
      Inner<V>[] next = new Inner[current.length + 1];
      System.arraycopy(current, 0, next, 0, current.length);
      next[current.length] = inner;
      if (SUBSCRIBERS.compareAndSet(this, current, next)) {
        return null;
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
      Inner<V>[] next = current.length == 1 ? EMPTY : new Inner[current.length - 1];
      System.arraycopy(current, 0, next, 0, index);
      System.arraycopy(current, index + 1, next, index, current.length - index - 1);
      if (SUBSCRIBERS.compareAndSet(this, current, next)) {
        if (next == EMPTY) {
          lastSubscriberLeft();
        }
        return;
      }
    }
  }

  /** One subscriber: demand and cancel as any {@code Mono}; cancel detaches it only. */
  static final class Inner<V> extends Operators.MonoSubscriber<Outcome<V>, Outcome<V>> {
    private final SharedOutcome<V> parent;
    /** The fresh read this subscriber follows when it came after an abandonment. */
    private volatile @Nullable Subscription followed;

    Inner(CoreSubscriber<? super Outcome<V>> actual, SharedOutcome<V> parent) {
      super(actual);
      this.parent = parent;
    }

    /** Answers this subscriber with {@code fresh}'s outcome. */
    void follow(Mono<Outcome<V>> fresh) {
      fresh.subscribe(new CoreSubscriber<Outcome<V>>() {
        private boolean answered;

        @Override
        public Context currentContext() {
          return actual().currentContext();
        }

        @Override
        public void onSubscribe(Subscription s) {
          followed = s;
          if (isCancelled()) {
            s.cancel();
          } else {
            s.request(Long.MAX_VALUE);
          }
        }

        @Override
        public void onNext(Outcome<V> o) {
          answered = true;
          complete(o);
        }

        @Override
        public void onError(Throwable e) {
          if (!isCancelled()) {
            actual().onError(e);
          }
        }

        @Override
        public void onComplete() {
          if (!answered && !isCancelled()) {
            actual().onComplete();
          }
        }
      });
    }

    @Override
    public void cancel() {
      super.cancel();
      Subscription fresh = followed;
      if (fresh != null) {
        fresh.cancel();
      }
      parent.remove(this);
    }
  }
}
