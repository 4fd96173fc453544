package dev.cacheaside.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Loads many values at once from the source of truth, for
 * {@link CacheAside#cacheAsideAll(org.reactivestreams.Publisher, BulkLoader)}: one query for all
 * the keys a window missed (for example {@code WHERE id = ANY($1)}).
 *
 * <pre>{@code
 * // the query returns rows; each row knows its key
 * BulkLoader<Long, Product> byIds = BulkLoader.fromFlux(repo::findAllById, Product::id);
 * // or the loader builds the map itself
 * BulkLoader<Long, Product> byIds = keys -> repo.findAllById(keys).collectMap(Product::id);
 * }</pre>
 *
 * <p>A key absent from the result (or mapped to {@code null}) is "not found" and is cached as a
 * negative entry. Values for keys that were not asked for are ignored (and logged, since that
 * usually means the key extractor or the key type is wrong). An error (or a throw) fails the keys
 * of that call and nothing of it is cached.
 *
 * @param <K> the key type
 * @param <V> the value type
 * @since 0.1
 */
@FunctionalInterface
public interface BulkLoader<K, V> {

  /**
   * Loads the values of {@code keys}.
   *
   * @param keys the keys to load: distinct, not empty, at most the configured
   *     {@linkplain CacheAsideBuilder#bulkMaxLoadChunk chunk size}, unmodifiable, in the order
   *     they were first requested
   * @return the found keys and their values; an empty Mono means none was found
   */
  Mono<Map<K, V>> load(Set<K> keys);

  /**
   * A bulk loader from a query that returns values (rows) and a function that reads each value's
   * key. A value whose key is null fails the call, and so do two values with the same key: both
   * mean the query or the extractor is wrong.
   *
   * @param query returns the values found for the keys it is given, in any order
   * @param keyOf the key of a value, as it was requested ({@code Product::id})
   */
  static <K, V> BulkLoader<K, V> fromFlux(Function<? super Set<K>, ? extends Publisher<? extends V>> query,
      Function<? super V, ? extends K> keyOf) {
    Objects.requireNonNull(query, "query must not be null");
    Objects.requireNonNull(keyOf, "keyOf must not be null");
    return keys -> Flux.<V>from(Objects.requireNonNull(query.apply(keys),
            "query returned null instead of a Publisher"))
        .collect(() -> new LinkedHashMap<K, V>(), (map, value) -> {
          K key = Objects.requireNonNull(keyOf.apply(value),
              () -> "key extractor returned null for value " + value);
          if (map.putIfAbsent(key, value) != null) {
            throw new IllegalStateException("bulk loader returned two values for key " + key
                + ": " + map.get(key) + " and " + value);
          }
        })
        .map(Collections::unmodifiableMap);
  }

  /**
   * A bulk loader from a function returning a map of any map type and any subtypes, as a
   * repository method often does ({@code Mono<HashMap<Long, Product>>}).
   */
  static <K, V> BulkLoader<K, V> fromMap(
      Function<? super Set<K>, ? extends Mono<? extends Map<? extends K, ? extends V>>> query) {
    Objects.requireNonNull(query, "query must not be null");
    return keys -> Objects.requireNonNull(query.apply(keys),
            "query returned null instead of a Mono")
        .map(Collections::<K, V>unmodifiableMap);
  }
}
