package dev.cacheaside.core;

import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The answer for one requested key of {@link CacheAside#cacheAsideAll}: its value, "not found",
 * or the error that failed its load. The key travels with the answer so that results can be
 * emitted as they complete, "not found" keys are answered too, and a failed load fails only its
 * own keys.
 *
 * <pre>{@code
 * products.cacheAsideAll(ids, byIds)
 *     .filter(BulkResult::isPresent)
 *     .map(BulkResult::value)   // or .mapNotNull(BulkResult::value)
 * }</pre>
 *
 * @param key the requested key
 * @param value the value; null when the key was not found or its load failed
 * @param error why the key could not be answered; null unless its load failed
 * @param <K> the key type
 * @param <V> the value type
 * @since 0.1
 */
public record BulkResult<K, V>(K key, @Nullable V value, @Nullable Throwable error) {

  /**
   * Checks the components.
   *
   * @throws IllegalArgumentException if both a value and an error are given
   */
  public BulkResult {
    Objects.requireNonNull(key, "key must not be null");
    if (value != null && error != null) {
      throw new IllegalArgumentException("a result has a value or an error, not both (key "
          + key + ")");
    }
  }

  /** A found value. */
  public static <K, V> BulkResult<K, V> found(K key, V value) {
    return new BulkResult<>(key, Objects.requireNonNull(value, "value must not be null"), null);
  }

  /** A key the source of truth does not have. */
  public static <K, V> BulkResult<K, V> absent(K key) {
    return new BulkResult<>(key, null, null);
  }

  /** A key whose load failed. */
  public static <K, V> BulkResult<K, V> failed(K key, Throwable error) {
    return new BulkResult<>(key, null, Objects.requireNonNull(error, "error must not be null"));
  }

  /** True when the key has a value. */
  public boolean isPresent() {
    return value != null;
  }

  /** True when the key's load failed; {@link #error()} says why. */
  public boolean isFailed() {
    return error != null;
  }

  /** The value, empty when the key was not found or failed. */
  public Optional<V> toOptional() {
    return Optional.ofNullable(value);
  }
}
