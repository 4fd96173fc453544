package dev.cacheaside.resilience;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.IllegalStateTransitionException;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.github.resilience4j.reactor.timelimiter.TimeLimiterOperator;
import io.github.resilience4j.timelimiter.TimeLimiter;
import java.util.concurrent.TimeoutException;
import reactor.core.publisher.Mono;

/**
 * One store call under the time limit and the circuit breaker. The limit is inside the breaker,
 * so a call cut off at the limit counts as a failure towards opening it (and, with
 * {@code openOnTimeout}, opens it at once); an open breaker fails the call at once with
 * {@link CallNotPermittedException}, without touching the store.
 */
final class Guard {
  private final CircuitBreaker breaker;
  private final TimeLimiter limiter;
  private final TimeLimiter bulkLimiter;
  private final boolean openOnTimeout;
  private final Counters counters;

  Guard(CircuitBreaker breaker, TimeLimiter limiter, TimeLimiter bulkLimiter,
      boolean openOnTimeout, Counters counters) {
    this.breaker = breaker;
    this.limiter = limiter;
    this.bulkLimiter = bulkLimiter;
    this.openOnTimeout = openOnTimeout;
    this.counters = counters;
  }

  /** A call about one key, under the time limit. */
  <T> Mono<T> call(Mono<T> call) {
    return guarded(call, limiter);
  }

  /**
   * A call about many keys (a window's multi-get, lease script or batched store), under the bulk
   * time limit: a healthy 500-key call can outlast a single-key limit, and with
   * {@code openOnTimeout} one such call would open the breaker for every read.
   */
  <T> Mono<T> callMany(Mono<T> call) {
    return guarded(call, bulkLimiter);
  }

  private <T> Mono<T> guarded(Mono<T> call, TimeLimiter timeLimiter) {
    return call
        .transformDeferred(TimeLimiterOperator.of(timeLimiter))
        .transformDeferred(CircuitBreakerOperator.of(breaker))
        .doOnError(this::count);
  }

  private void count(Throwable e) {
    if (e instanceof CallNotPermittedException) {
      counters.skippedCalls.increment();
    } else if (e instanceof TimeoutException) {
      counters.timeouts.increment();
      if (openOnTimeout) {
        open();
      }
    } else {
      counters.failedCalls.increment();
    }
  }

  /**
   * Opens the breaker unless it is open already or in a state the application forced (disabled,
   * metrics only, forced open). Two calls timing out together may both open it; the second only
   * restarts the open wait.
   */
  private void open() {
    CircuitBreaker.State state = breaker.getState();
    if (state == CircuitBreaker.State.CLOSED || state == CircuitBreaker.State.HALF_OPEN) {
      try {
        breaker.transitionToOpenState();
      } catch (IllegalStateTransitionException e) {
        // The application moved the breaker to a state of its own meanwhile; leave it there.
      }
    }
  }
}
