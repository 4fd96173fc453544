package dev.cacheaside.core;

import org.jspecify.annotations.Nullable;

/**
 * How one read of a key was answered. A shared read hands the same outcome to every caller that
 * joined it, and each caller counts it, so the statistics count callers, not flights.
 */
record Outcome<V>(Kind kind, @Nullable V value) {
  enum Kind { HIT, NEGATIVE_HIT, STALE_HIT, LOADED }

  static <V> Outcome<V> hit(@Nullable V value) {
    return new Outcome<>(value == null ? Kind.NEGATIVE_HIT : Kind.HIT, value);
  }

  static <V> Outcome<V> stale(@Nullable V value) {
    return new Outcome<>(Kind.STALE_HIT, value);
  }

  static <V> Outcome<V> loaded(@Nullable V value) {
    return new Outcome<>(Kind.LOADED, value);
  }
}
