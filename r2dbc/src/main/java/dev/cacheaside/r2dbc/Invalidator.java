package dev.cacheaside.r2dbc;

import dev.cacheaside.core.CacheAside;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The retry-then-report policy ({@link InvalidationPolicy}) shared by {@link TransactionalWrites} and
 * {@link PgInvalidationListener} around core's own {@code invalidateAll} and
 * {@code bumpGeneration}: an invalidation is retried with backoff, and one that still fails is
 * counted, logged and handed to the user's callback, never dropped silently and never emitted as an
 * error (the write it follows has already committed).
 */
final class Invalidator {
  private static final Logger LOG = Loggers.getLogger(Invalidator.class);

  private final String owner;
  private final InvalidationPolicy policy;
  private final Scheduler scheduler;
  final LongAdder keysInvalidated = new LongAdder();
  final LongAdder generationBumps = new LongAdder();
  final LongAdder failures = new LongAdder();

  Invalidator(String owner, InvalidationPolicy policy, Scheduler scheduler) {
    this.owner = owner;
    this.policy = policy;
    this.scheduler = scheduler;
  }

  /** Invalidates {@code keys} of {@code cache}; completes when done or reported, never errors. */
  <K> Mono<Void> invalidate(CacheAside<K, ?> cache, Collection<? extends K> keys) {
    List<K> copy = List.copyOf(keys);
    if (copy.isEmpty()) {
      return Mono.empty();
    }
    AtomicInteger attempts = new AtomicInteger();
    return withRetry(Mono.defer(() -> {
      attempts.incrementAndGet();
      return cache.invalidateAll(copy);
    }))
        .doOnSuccess(done -> keysInvalidated.add(copy.size()))
        .onErrorResume(e -> report(new InvalidationFailure(cache, copy,
            InvalidationFailure.Action.INVALIDATE, attempts.get(), e)));
  }

  /** Bumps the generation of {@code cache}; completes when done or reported, never errors. */
  Mono<Void> bumpGeneration(CacheAside<?, ?> cache) {
    AtomicInteger attempts = new AtomicInteger();
    return withRetry(Mono.defer(() -> {
      attempts.incrementAndGet();
      return cache.bumpGeneration();
    }))
        .doOnNext(generation -> {
          generationBumps.increment();
          LOG.info("{}: bumped the generation of cache '{}' to {}", owner, cache.name(),
              generation);
        })
        .then()
        .onErrorResume(e -> report(new InvalidationFailure(cache, List.of(),
            InvalidationFailure.Action.BUMP_GENERATION, attempts.get(), e)));
  }

  private <T> Mono<T> withRetry(Mono<T> attempt) {
    return attempt.retryWhen(policy.retry().toRetry(scheduler));
  }

  /** The first few keys, so a log line about a thousand keys stays a line. */
  static String preview(List<?> keys) {
    int shown = 10;
    if (keys.size() <= shown) {
      return keys.toString();
    }
    String head = keys.subList(0, shown).toString();
    return head.substring(0, head.length() - 1) + ", ... (" + keys.size() + " in all)]";
  }

  private Mono<Void> report(InvalidationFailure failure) {
    Exceptions.throwIfJvmFatal(failure.error());
    failures.increment();
    if (failure.action() == InvalidationFailure.Action.INVALIDATE) {
      LOG.error("{}: invalidation of {} key(s) of cache '{}' failed after {} attempt(s); they may"
              + " be served stale until their TTL: {} {}", owner, failure.keys().size(),
          failure.cache().name(), failure.attempts(), preview(failure.keys()),
          failure.error().toString());
    } else {
      LOG.error("{}: bumping the generation of cache '{}' failed after {} attempt(s); its entries"
              + " may be served stale until their TTL: {}", owner, failure.cache().name(),
          failure.attempts(), failure.error().toString());
    }
    try {
      policy.onFailure().accept(failure);
    } catch (RuntimeException e) {
      // The callback is the user's: its failure must not turn a committed write into an error.
      LOG.error("{}: the invalidation failure callback threw", owner, e);
    }
    return Mono.empty();
  }
}
