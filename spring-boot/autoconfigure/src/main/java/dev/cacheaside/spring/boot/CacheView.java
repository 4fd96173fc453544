package dev.cacheaside.spring.boot;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.cache.interceptor.CacheOperationInvoker.ThrowableWrapper;
import org.springframework.cache.Cache;
import org.springframework.cache.support.SimpleValueWrapper;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * A {@link CacheAsideSpringCache} as one call of one cache-annotated method sees it: values typed
 * by that method's return type, the operation that asked (what {@code put} means depends on it),
 * and, when {@link CacheAsideInvocationInterceptor} wrapped the call, its {@link InvocationScope}
 * (the subscriber's Context; invalidations run after the method, awaited, transaction-aware).
 */
final class CacheView implements Cache {
  /** Which annotation (or none) this view serves. */
  enum Kind {
    /** Used directly through the manager: no method, no annotation. */
    DIRECT,
    /** {@code @Cacheable}: {@code put} stores the value the method loaded (non-sync form). */
    CACHEABLE,
    /** {@code @CachePut}: {@code put} evicts (the library never writes through). */
    PUT,
    /** {@code @CacheEvict}. */
    EVICT
  }

  /** The longest a blocking caller waits; reads are bounded by the store and the lease wait. */
  static final Duration BLOCKING_BOUND = Duration.ofSeconds(30);

  private final CacheAsideSpringCache owner;
  private final ValueShape shape;
  private final Kind kind;
  private final @Nullable InvocationScope scope;

  CacheView(CacheAsideSpringCache owner, ValueShape shape, Kind kind,
      @Nullable InvocationScope scope) {
    this.owner = owner;
    this.shape = shape;
    this.kind = kind;
    this.scope = scope;
  }

  private ContextView context() {
    return scope == null ? Context.empty() : scope.context();
  }

  @Override
  public String getName() {
    return owner.getName();
  }

  @Override
  public Object getNativeCache() {
    return owner.getNativeCache();
  }

  // ---- reactive: what Spring calls for methods returning Mono, Flux or CompletableFuture ----

  /** {@code @Cacheable(sync = true)}: one load per key through the cache's lease. */
  @Override
  @SuppressWarnings("unchecked")
  public <T> CompletableFuture<T> retrieve(Object key, Supplier<CompletableFuture<T>> valueLoader) {
    // suppressCancel: the load is shared by every caller of the key; one caller's cancel must
    // not cancel Spring's future that the others wait on. A method that throws instead of
    // returning a Mono reaches the loader wrapped by Spring's cache interceptor, which unwraps
    // only what is thrown through it: the callers get the method's own exception.
    return (CompletableFuture<T>) owner.load(key, shape, k -> Mono.fromFuture(valueLoader, true)
            .onErrorMap(ThrowableWrapper.class, ThrowableWrapper::getOriginal))
        .contextWrite(context())
        .toFuture();
  }

  /**
   * {@code @Cacheable} without sync: only asks the cache; on a miss Spring calls the method and
   * then {@link #put}. A cached "not found" completes with an empty wrapper (Spring then emits
   * nothing, without calling the method); a miss completes with {@code null}.
   */
  @Override
  public CompletableFuture<?> retrieve(Object key) {
    return owner.probe(key, shape).contextWrite(context()).toFuture();
  }

  // ---- blocking: what Spring calls for methods returning plain values ----

  @Override
  public @Nullable ValueWrapper get(Object key) {
    return block(owner.probe(key, shape), "get");
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> @Nullable T get(Object key, @Nullable Class<T> type) {
    ValueShape typed = type == null ? shape : new ValueShape(type, false);
    ValueWrapper found = block(owner.probe(key, typed), "get");
    return found == null ? null : (T) found.get();
  }

  /** {@code @Cacheable(sync = true)} on a blocking method: one load per key, on this thread's behalf. */
  @Override
  @SuppressWarnings("unchecked")
  public <T> @Nullable T get(Object key, Callable<T> valueLoader) {
    try {
      return (T) block(owner.load(key, shape, k -> Mono.fromCallable(valueLoader)
          .subscribeOn(Schedulers.boundedElastic())), "get");
    } catch (RuntimeException e) {
      Throwable cause = reactor.core.Exceptions.unwrap(e);
      throw new ValueRetrievalException(key, valueLoader, cause);
    }
  }

  // ---- writes ----

  @Override
  public void put(Object key, @Nullable Object value) {
    if (kind == Kind.CACHEABLE) {
      // the non-sync @Cacheable: the value the method just loaded, stored only if absent
      after(() -> owner.storeIfAbsent(key, value, shape, null).then(), "put");
    } else {
      after(() -> owner.invalidate(key), "put (an eviction)");
    }
  }

  @Override
  public @Nullable ValueWrapper putIfAbsent(Object key, @Nullable Object value) {
    AtomicBoolean stored = new AtomicBoolean();
    Mono<ValueWrapper> put = owner.storeIfAbsent(key, value, shape, () -> stored.set(true))
        .map(held -> (ValueWrapper) new SimpleValueWrapper(held))
        .defaultIfEmpty(new SimpleValueWrapper(null));
    if (Schedulers.isInNonBlockingThread()) {
      owner.background(put.contextWrite(context()), "putIfAbsent");
      return null;
    }
    ValueWrapper held = block(put, "putIfAbsent");
    return stored.get() ? null : held;
  }

  @Override
  public void evict(Object key) {
    after(() -> owner.invalidate(key), "evict");
  }

  /** Spring's {@code beforeInvocation} eviction: done before the method runs. */
  @Override
  public boolean evictIfPresent(Object key) {
    now(() -> owner.invalidate(key), "evictIfPresent");
    return false;
  }

  @Override
  public void clear() {
    after(owner::invalidateAll, "clear");
  }

  /** Spring's {@code beforeInvocation} {@code allEntries} eviction. */
  @Override
  public boolean invalidate() {
    now(owner::invalidateAll, "invalidate");
    return false;
  }

  /** In a scope, after the method's result completed (awaited); else in the background. */
  private void after(Supplier<Mono<Void>> work, String what) {
    if (scope != null) {
      scope.after(work);
    } else {
      owner.background(work.get(), what);
    }
  }

  /** In a scope, before the method's result is subscribed; else now (waiting where allowed). */
  private void now(Supplier<Mono<Void>> work, String what) {
    if (scope != null) {
      scope.before(work);
    } else if (Schedulers.isInNonBlockingThread()) {
      owner.background(work.get(), what);
    } else {
      block(work.get(), what);
    }
  }

  private <T> @Nullable T block(Mono<T> work, String what) {
    if (Schedulers.isInNonBlockingThread()) {
      throw new IllegalStateException("cache '" + getName() + "': " + what + " blocks, and this is"
          + " a non-blocking thread (" + Thread.currentThread().getName() + "); use"
          + " @Cacheable on a method returning Mono or Flux, or retrieve(key, loader)");
    }
    return work.contextWrite(context()).block(BLOCKING_BOUND);
  }

  @Override
  public String toString() {
    return "CacheView[" + getName() + ", " + kind + ", " + shape + "]";
  }
}
