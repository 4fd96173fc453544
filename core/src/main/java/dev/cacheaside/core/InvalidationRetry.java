package dev.cacheaside.core;

import java.time.Duration;
import java.util.Objects;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;
import reactor.util.retry.RetryBackoffSpec;

/**
 * How an invalidation that failed after its write committed (the cache store was unreachable) is
 * retried before it is given up and reported: up to {@code maxRetries} more attempts, pausing
 * {@code firstBackoff}, then twice as long each time (with jitter), at most {@code maxBackoff}.
 * Used by {@link CacheAside#writeThenInvalidate} (see
 * {@link CacheAsideBuilder#invalidationRetry}) and by the r2dbc module's transactional writes and
 * database listener.
 *
 * @param maxRetries attempts after the first, 0 or more
 * @param firstBackoff the pause before the first retry, at least 1 ms
 * @param maxBackoff the longest pause, not less than {@code firstBackoff}
 * @since 0.1
 */
public record InvalidationRetry(int maxRetries, Duration firstBackoff, Duration maxBackoff) {

  /** 3 retries from 20 ms, at most 1 s apart. */
  public static final InvalidationRetry DEFAULT =
      new InvalidationRetry(3, Duration.ofMillis(20), Duration.ofSeconds(1));

  /** No retry: the first failure is reported. */
  public static final InvalidationRetry NONE =
      new InvalidationRetry(0, Duration.ofMillis(1), Duration.ofMillis(1));

  /**
   * Checks the arguments.
   *
   * @throws IllegalArgumentException if {@code maxRetries} is negative, a backoff is under 1 ms,
   *     or {@code maxBackoff} is less than {@code firstBackoff}
   */
  public InvalidationRetry {
    if (maxRetries < 0) {
      throw new IllegalArgumentException("maxRetries must not be negative but was " + maxRetries);
    }
    Objects.requireNonNull(firstBackoff, "firstBackoff must not be null");
    Objects.requireNonNull(maxBackoff, "maxBackoff must not be null");
    if (firstBackoff.toMillis() < 1) {
      throw new IllegalArgumentException("firstBackoff must be at least 1 ms but was "
          + firstBackoff);
    }
    if (maxBackoff.compareTo(firstBackoff) < 0) {
      throw new IllegalArgumentException("maxBackoff " + maxBackoff
          + " must not be less than firstBackoff " + firstBackoff);
    }
  }

  /**
   * This policy as a Reactor retry spec, its pauses timed on {@code scheduler}; the error of the
   * last attempt is what fails when the retries are spent.
   */
  public RetryBackoffSpec toRetry(Scheduler scheduler) {
    Objects.requireNonNull(scheduler, "scheduler must not be null");
    return Retry.backoff(maxRetries, firstBackoff)
        .maxBackoff(maxBackoff)
        .scheduler(scheduler)
        .onRetryExhaustedThrow((spec, signal) -> signal.failure());
  }
}
