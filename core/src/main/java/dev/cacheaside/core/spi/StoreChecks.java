package dev.cacheaside.core.spi;

import java.time.Duration;
import java.util.Objects;

/**
 * The argument checks every {@link CacheStore} makes, worded alike, so a caller sees the same
 * message whichever store is behind the cache. A store runs them when a method is called, not on
 * subscription: a bad argument is a bug at the call site, not a cache failure for the core to
 * turn into a miss.
 *
 * @since 0.1
 */
public final class StoreChecks {
  private StoreChecks() {}

  /**
   * Checks a store key.
   *
   * @return {@code key}
   * @throws NullPointerException if it is null
   * @throws IllegalArgumentException if it is empty
   */
  public static String checkKey(String key) {
    Objects.requireNonNull(key, "key must not be null");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("key must not be empty");
    }
    return key;
  }

  /**
   * Checks a namespace (a cache's name) given to the generation operations.
   *
   * @return {@code namespace}
   * @throws NullPointerException if it is null
   * @throws IllegalArgumentException if it is empty
   */
  public static String checkNamespace(String namespace) {
    Objects.requireNonNull(namespace, "namespace must not be null");
    if (namespace.isEmpty()) {
      throw new IllegalArgumentException("namespace must not be empty");
    }
    return namespace;
  }

  /**
   * Checks a time to live: positive and at least one millisecond, the unit stores keep.
   *
   * @param what names the argument in the message ({@code "ttl"}, {@code "leaseTtl"})
   * @return {@code ttl}
   * @throws NullPointerException if it is null
   * @throws IllegalArgumentException if it is not at least 1 ms
   */
  public static Duration checkTtl(Duration ttl, String what) {
    Objects.requireNonNull(ttl, what + " must not be null");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException(what + " must be positive but was " + ttl);
    }
    if (ttl.toMillis() < 1) {
      throw new IllegalArgumentException(what + " must be at least 1 ms but was " + ttl);
    }
    return ttl;
  }

  /**
   * {@link #checkTtl} that returns the TTL in whole milliseconds, as {@code PX} takes it.
   *
   * @param what names the argument in the message
   * @return the TTL in milliseconds, at least 1
   */
  public static long ttlMillis(Duration ttl, String what) {
    return checkTtl(ttl, what).toMillis();
  }

  /**
   * Checks a value to store.
   *
   * @return {@code value}
   * @throws NullPointerException if it is null
   */
  public static byte[] checkValue(byte[] value) {
    return Objects.requireNonNull(value, "value must not be null");
  }

  /**
   * Checks an entry to store: its key, value and TTL.
   *
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if the key is empty or the TTL under 1 ms
   */
  public static void checkEntry(String key, byte[] value, Duration ttl) {
    checkKey(key);
    checkValue(value);
    checkTtl(ttl, "ttl");
  }

  /**
   * Checks a lease token.
   *
   * @return {@code token}
   * @throws NullPointerException if it is null
   * @throws IllegalArgumentException if it is empty
   */
  public static String checkToken(String token) {
    Objects.requireNonNull(token, "lease token must not be null");
    if (token.isEmpty()) {
      throw new IllegalArgumentException("lease token must not be empty");
    }
    return token;
  }
}
