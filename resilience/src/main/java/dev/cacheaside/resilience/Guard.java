package dev.cacheaside.resilience;

import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.github.resilience4j.reactor.timelimiter.TimeLimiterOperator;
import io.github.resilience4j.timelimiter.TimeLimiter;
import java.util.concurrent.TimeoutException;
import reactor.core.publisher.Mono;

/**
 * One store call under the time limit and the circuit breaker. The limit is inside the breaker,
 * so a call cut off at the limit counts as a failure towards opening it; an open breaker fails
 * the call at once with {@link CallNotPermittedException}, without touching the store.
 */
final class Guard {
  private final CircuitBreaker breaker;
  private final TimeLimiter limiter;
  private final Counters counters;

  Guard(CircuitBreaker breaker, TimeLimiter limiter, Counters counters) {
    this.breaker = breaker;
    this.limiter = limiter;
    this.counters = counters;
  }

  <T> Mono<T> call(Mono<T> call) {
    return call
        .transformDeferred(TimeLimiterOperator.of(limiter))
        .transformDeferred(CircuitBreakerOperator.of(breaker))
        .doOnError(this::count);
  }

  private void count(Throwable e) {
    if (e instanceof CallNotPermittedException) {
      counters.skippedCalls.increment();
    } else if (e instanceof TimeoutException) {
      counters.timeouts.increment();
    } else {
      counters.failedCalls.increment();
    }
  }
}
