package dev.cacheaside.core;

import dev.cacheaside.core.spi.StoreChecks;
import java.time.Duration;
import java.util.Objects;

/** Argument checks of the builder, worded alike: each names the option and the bad value. */
final class Arguments {
  private Arguments() {}

  static Duration notNegative(Duration duration, String what) {
    Objects.requireNonNull(duration, what + " must not be null");
    if (duration.isNegative()) {
      throw new IllegalArgumentException(what + " must not be negative but was " + duration);
    }
    return duration;
  }

  static void checkBackoff(Duration min, Duration max, String what) {
    StoreChecks.checkTtl(min, what + " min");
    StoreChecks.checkTtl(max, what + " max");
    if (max.compareTo(min) < 0) {
      throw new IllegalArgumentException(what + " max " + max + " must not be less than min " + min);
    }
  }

  static int positive(int value, String what) {
    if (value <= 0) {
      throw new IllegalArgumentException(what + " must be positive but was " + value);
    }
    return value;
  }

  static int notNegative(int value, String what) {
    if (value < 0) {
      throw new IllegalArgumentException(what + " must not be negative but was " + value);
    }
    return value;
  }

  static String notBlank(String value, String what) {
    Objects.requireNonNull(value, what + " must not be null");
    if (value.isBlank()) {
      throw new IllegalArgumentException(what + " must not be blank");
    }
    return value;
  }
}
