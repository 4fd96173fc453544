package dev.cacheaside.core;

import java.util.concurrent.RejectedExecutionException;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;
import reactor.util.context.Context;

/**
 * Delivers a store call's error on the scheduler when the store signals it on the caller's own
 * stack, inside the subscribe or request that sent the call; every other signal passes straight
 * through.
 *
 * <p>Why: Lettuce rejects a command it cannot send (disconnected, with
 * {@code REJECT_COMMANDS}) synchronously, inside its endpoint's write and under that endpoint's
 * writer count. What the cache does next on a failed call is usually another store call (the
 * lease after a failed {@code GET}, the store after a load); made on that same stack it enters the
 * endpoint's lock a second time, and when a reconnect on the event loop waits for the writers to
 * drain, both wait forever. Moving only errors that arrive this way costs nothing on the normal
 * path: replies arrive on the event loop, after the subscribe returned.
 */
final class OffStackErrors<T> extends Mono<T> {
  private final Mono<T> source;
  private final Scheduler scheduler;

  private OffStackErrors(Mono<T> source, Scheduler scheduler) {
    this.source = source;
    this.scheduler = scheduler;
  }

  /** {@code call}, with an error signalled on the caller's stack moved to {@code scheduler}. */
  static <T> Mono<T> of(Mono<T> call, Scheduler scheduler) {
    return new OffStackErrors<>(call, scheduler);
  }

  @Override
  public void subscribe(CoreSubscriber<? super T> actual) {
    Guard<T> guard = new Guard<>(actual, scheduler);
    guard.inside = Thread.currentThread();
    try {
      source.subscribe(guard);
    } finally {
      guard.inside = null;
    }
  }

  private static final class Guard<T> implements CoreSubscriber<T>, Subscription {
    private final CoreSubscriber<? super T> actual;
    private final Scheduler scheduler;
    /** The thread inside this call's subscribe or request, if any. */
    volatile @Nullable Thread inside;
    @SuppressWarnings("NotNullFieldNotInitialized")
    private Subscription upstream;

    Guard(CoreSubscriber<? super T> actual, Scheduler scheduler) {
      this.actual = actual;
      this.scheduler = scheduler;
    }

    @Override
    public Context currentContext() {
      return actual.currentContext();
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (Operators.validate(upstream, s)) {
        upstream = s;
        actual.onSubscribe(this);
      }
    }

    @Override
    public void onNext(T value) {
      actual.onNext(value);
    }

    @Override
    public void onError(Throwable e) {
      if (inside == Thread.currentThread()) {
        try {
          scheduler.schedule(() -> actual.onError(e));
          return;
        } catch (RejectedExecutionException rejected) {
          // A disposed scheduler (shutdown): delivering here is all that is left.
        }
      }
      actual.onError(e);
    }

    @Override
    public void onComplete() {
      actual.onComplete();
    }

    @Override
    public void request(long n) {
      Thread thread = Thread.currentThread();
      Thread before = inside;
      inside = thread;
      try {
        upstream.request(n);
      } finally {
        inside = before;
      }
    }

    @Override
    public void cancel() {
      upstream.cancel();
    }
  }
}
