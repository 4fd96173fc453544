package dev.cacheaside.core;

/**
 * How far a {@link CacheAside#warm} has come: counts of distinct keys so far (a key requested
 * twice in one window counts once).
 *
 * @param warmed keys loaded from the database with a value and stored (unless a write's
 *     invalidation took their lease meanwhile: then the newer write wins, as on any read; or the
 *     store failed: then they were loaded and not stored, counted in the cache's store errors)
 * @param notFound keys the loader did not return, stored as "not found" for the negative TTL
 * @param skipped keys already cached (or loaded meanwhile by another caller or instance): not
 *     loaded again
 * @param failed keys whose load failed (or whose value the codec could not encode); nothing of
 *     them is stored, and the warm goes on
 * @param storeErrors store calls of this cache that failed since the warm began, by the warm or
 *     any other caller: above zero, some keys counted as warmed may not be in the store (a warm
 *     against a store that is down loads every key and stores none). A deploy script that must
 *     know the cache is warm checks that it is zero.
 * @since 0.1
 */
public record WarmProgress(long warmed, long notFound, long skipped, long failed,
    long storeErrors) {
  /** Nothing yet. */
  public static final WarmProgress NONE = new WarmProgress(0, 0, 0, 0, 0);

  /** Counts with no store error. */
  public WarmProgress(long warmed, long notFound, long skipped, long failed) {
    this(warmed, notFound, skipped, failed, 0);
  }

  /**
   * The keys answered so far.
   *
   * @return {@code warmed + notFound + skipped + failed}
   */
  public long keys() {
    return warmed + notFound + skipped + failed;
  }

  /** These key counts plus {@code other}'s, with {@code storeErrors} as given. */
  WarmProgress plus(WarmProgress other, long storeErrorsSoFar) {
    return new WarmProgress(warmed + other.warmed, notFound + other.notFound,
        skipped + other.skipped, failed + other.failed, storeErrorsSoFar);
  }
}
