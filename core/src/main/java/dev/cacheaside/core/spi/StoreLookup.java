package dev.cacheaside.core.spi;

/**
 * The outcome of {@link CacheStore#getOrLease}: the value was found, a lease was granted to the
 * caller, or another caller holds the lease and is loading the value.
 *
 * @since 0.1
 */
public sealed interface StoreLookup {

  /** The key holds a value (fresh or within its stale grace: the core decides which). */
  record Found(byte[] value) implements StoreLookup {}

  /** The key had no value and the caller now holds the lease {@code token}. */
  record Granted(String token) implements StoreLookup {}

  /** The key has no value and another caller holds its lease. */
  record Contended() implements StoreLookup {
    static final Contended INSTANCE = new Contended();
  }

  /** Returns the shared {@link Contended} instance. */
  static StoreLookup contended() {
    return Contended.INSTANCE;
  }
}
