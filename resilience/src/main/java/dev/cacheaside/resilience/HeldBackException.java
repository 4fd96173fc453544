package dev.cacheaside.resilience;

/**
 * Fails a read that a {@link ResilientCacheStore} keeps from the store while invalidations owed
 * from an outage are replayed; the core treats it as a miss. One instance per store, without a
 * stack trace: it is a signal on a hot path, not a bug report.
 */
final class HeldBackException extends RuntimeException {
  HeldBackException(String storeName) {
    super("cache store '" + storeName + "' is replaying invalidations owed from an outage; read "
        + "skipped", null, false, false);
  }
}
