package dev.cacheaside.r2dbc;

import dev.cacheaside.core.CacheAside;
import java.util.List;
import java.util.Objects;

/**
 * An invalidation that still failed after its retries: the entries named may be served stale
 * until their TTL (or until the cache's generation is bumped). Handed to the failure callback of
 * {@link TransactionalWrites} and {@link PgInvalidationListener}, after it was counted and logged.
 *
 * @param cache the cache whose entries could not be invalidated
 * @param keys the keys that could not be invalidated; empty when {@code action} is
 *     {@link Action#BUMP_GENERATION}
 * @param action what failed
 * @param attempts how many times it was tried
 * @param error the last attempt's error
 * @since 0.1
 */
public record InvalidationFailure(CacheAside<?, ?> cache, List<?> keys, Action action,
    int attempts, Throwable error) {

  /**
   * What could not be done.
   *
   * @since 0.1
   */
  public enum Action {
    /** Deleting the entries of {@code keys}. */
    INVALIDATE,
    /** Bumping the cache's namespace generation (every entry of the cache may be stale). */
    BUMP_GENERATION
  }

  /** Checks and copies the arguments. */
  public InvalidationFailure {
    Objects.requireNonNull(cache, "cache must not be null");
    keys = List.copyOf(keys);
    Objects.requireNonNull(action, "action must not be null");
    Objects.requireNonNull(error, "error must not be null");
  }
}
