package dev.cacheaside.redis;

import java.time.Duration;
import java.util.Objects;

/**
 * Argument checks, worded as core's in-memory store words them, so a caller sees the same message
 * whichever store is behind the cache. They run when a method is called, not on subscription: a
 * bad argument is a bug at the call site, not a cache failure for the core to turn into a miss.
 */
final class Checks {
  private Checks() {}

  static String checkKey(String key) {
    Objects.requireNonNull(key, "key must not be null");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("key must not be empty");
    }
    return key;
  }

  /** Returns the TTL in whole milliseconds, the unit of {@code PX}. */
  static long checkTtl(Duration ttl, String what) {
    Objects.requireNonNull(ttl, what + " must not be null");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException(what + " must be positive but was " + ttl);
    }
    long millis = ttl.toMillis();
    if (millis < 1) {
      throw new IllegalArgumentException(what + " must be at least 1 ms but was " + ttl);
    }
    return millis;
  }

  static byte[] checkValue(byte[] value) {
    return Objects.requireNonNull(value, "value must not be null");
  }

  static String checkToken(String token) {
    Objects.requireNonNull(token, "lease token must not be null");
    if (token.isEmpty()) {
      throw new IllegalArgumentException("lease token must not be empty");
    }
    return token;
  }
}
