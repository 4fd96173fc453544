package dev.cacheaside.spring.boot;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.ContextView;

/**
 * One call of a cache-annotated method returning {@code Mono} or {@code Flux}, as seen from
 * inside Spring's cache interceptor: the subscriber's Reactor {@code Context} (where the
 * transaction is) and the invalidations the interceptor asked for.
 *
 * <p>Spring's cache interceptor calls {@code Cache.evict} from a {@code doOnSuccess} of the
 * method's result, a plain method call that cannot see the Context, and does not wait for it.
 * {@link CacheAsideInvocationInterceptor}, outside Spring's interceptor, runs the call inside
 * {@code deferContextual} and makes this scope current while Spring's interceptor resolves the
 * caches; the caches' views take it, queue their invalidations here, and the interceptor runs them
 * after the method's result completed, in its Context (so after the transaction's commit, see
 * {@link TransactionAwareCacheAside}), before the caller sees completion.
 */
final class InvocationScope {
  private static final ThreadLocal<@Nullable InvocationScope> CURRENT = new ThreadLocal<>();

  private final ContextView context;
  /** Evictions Spring asked to happen before the method ({@code beforeInvocation = true}). */
  private final Queue<Supplier<Mono<Void>>> before = new ConcurrentLinkedQueue<>();
  /** Evictions after the method succeeded; added from the result's signal thread. */
  private final Queue<Supplier<Mono<Void>>> after = new ConcurrentLinkedQueue<>();

  InvocationScope(ContextView context) {
    this.context = context;
  }

  /** The scope of the call being set up on this thread, if any. */
  static @Nullable InvocationScope current() {
    return CURRENT.get();
  }

  /** The subscriber's Context. */
  ContextView context() {
    return context;
  }

  void before(Supplier<Mono<Void>> invalidation) {
    before.add(invalidation);
  }

  void after(Supplier<Mono<Void>> invalidation) {
    after.add(invalidation);
  }

  /** Calls the rest of the chain (Spring's cache interceptor, the method) with this scope current. */
  @Nullable Object proceed(MethodInvocation invocation) throws Throwable {
    InvocationScope outer = CURRENT.get();
    CURRENT.set(this);
    try {
      return invocation.proceed();
    } finally {
      if (outer == null) {
        CURRENT.remove();
      } else {
        CURRENT.set(outer);
      }
    }
  }

  /** The method's Mono, with the queued invalidations run before and after it. */
  <T> Mono<T> around(Publisher<T> result) {
    Mono<T> mono = Mono.from(result);
    return drain(before)
        .then(mono.flatMap(value -> drain(after).thenReturn(value))
            .switchIfEmpty(Mono.defer(() -> drain(after)).then(Mono.empty())))
        .contextWrite(context);
  }

  /** The method's Flux, with the queued invalidations run before it and after its completion. */
  <T> Flux<T> around(Flux<T> result) {
    return drain(before).thenMany(result)
        .concatWith(Mono.defer(() -> drain(after)).then(Mono.empty()))
        .contextWrite(context);
  }

  private static Mono<Void> drain(Queue<Supplier<Mono<Void>>> queue) {
    return Mono.defer(() -> {
      Supplier<Mono<Void>> next = queue.poll();
      if (next == null) {
        return Mono.empty();
      }
      return next.get().then(drain(queue));
    });
  }
}
