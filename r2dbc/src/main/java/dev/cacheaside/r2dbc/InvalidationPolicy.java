package dev.cacheaside.r2dbc;

import dev.cacheaside.core.InvalidationRetry;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What {@link TransactionalWrites} and {@link PgInvalidationListener} do when an invalidation (or
 * a generation bump) fails after its write committed: retry it as {@code retry} says, and if it
 * still fails, count it, log it and hand it to {@code onFailure}. Never an error to the writer:
 * the write has committed.
 *
 * <pre>{@code
 * InvalidationPolicy policy = InvalidationPolicy.DEFAULT
 *     .withOnFailure(failure -> alerts.send(failure));
 * TransactionalWrites writes = TransactionalWrites.builder(pool).invalidationPolicy(policy).build();
 * }</pre>
 *
 * @param retry how a failed invalidation is retried before it is reported
 * @param onFailure called with each invalidation that still failed, after it was counted and
 *     logged, on a store or timer thread, so it must not block; its exceptions are logged and
 *     otherwise ignored
 * @since 0.1
 */
public record InvalidationPolicy(InvalidationRetry retry, Consumer<InvalidationFailure> onFailure) {

  /** {@link InvalidationRetry#DEFAULT}, and nothing called beyond the count and the log. */
  public static final InvalidationPolicy DEFAULT =
      new InvalidationPolicy(InvalidationRetry.DEFAULT, failure -> { });

  /** Checks the components. */
  public InvalidationPolicy {
    Objects.requireNonNull(retry, "retry must not be null");
    Objects.requireNonNull(onFailure, "onFailure must not be null");
  }

  /** This policy with another retry. */
  public InvalidationPolicy withRetry(InvalidationRetry newRetry) {
    return new InvalidationPolicy(newRetry, onFailure);
  }

  /** This policy with another failure callback. */
  public InvalidationPolicy withOnFailure(Consumer<InvalidationFailure> newOnFailure) {
    return new InvalidationPolicy(retry, newOnFailure);
  }
}
