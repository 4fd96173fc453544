package dev.cacheaside.core;

import java.time.Duration;
import java.util.Objects;

/** Argument checks shared by stores, so every store rejects bad input with the same words. */
final class StoreChecks {
  private StoreChecks() {}

  static String checkKey(String key) {
    Objects.requireNonNull(key, "key must not be null");
    if (key.isEmpty()) {
      throw new IllegalArgumentException("key must not be empty");
    }
    return key;
  }

  static Duration checkTtl(Duration ttl, String what) {
    Objects.requireNonNull(ttl, what + " must not be null");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException(what + " must be positive but was " + ttl);
    }
    if (ttl.toMillis() < 1) {
      throw new IllegalArgumentException(what + " must be at least 1 ms but was " + ttl);
    }
    return ttl;
  }

  static void checkEntry(String key, byte[] value, Duration ttl) {
    checkKey(key);
    Objects.requireNonNull(value, "value must not be null");
    checkTtl(ttl, "ttl");
  }

  static void checkToken(String token) {
    Objects.requireNonNull(token, "lease token must not be null");
    if (token.isEmpty()) {
      throw new IllegalArgumentException("lease token must not be empty");
    }
  }
}
