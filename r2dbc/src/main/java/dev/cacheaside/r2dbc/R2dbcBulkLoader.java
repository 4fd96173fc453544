package dev.cacheaside.r2dbc;

import dev.cacheaside.core.BulkLoader;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Row;
import java.lang.reflect.Array;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A loader of many rows by their keys in one {@code = ANY($1)} query, made by
 * {@link R2dbcLoaders#byIds}. It is the {@link BulkLoader} that
 * {@link dev.cacheaside.core.CacheAside#cacheAsideAll CacheAside.cacheAsideAll} takes, and also a
 * plain {@code Function<Collection<K>, Flux<V>>} of the rows, with its
 * {@linkplain #keyOf() key extractor}, for use outside the cache.
 *
 * <pre>{@code
 * R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(pool,
 *     "SELECT id, name, price FROM product WHERE id = ANY($1)", Long.class,
 *     Product::fromRow, Product::id);
 * Flux<BulkResult<Long, Product>> read = products.cacheAsideAll(ids, byIds);
 * Flux<Product> rows = byIds.apply(List.of(1L, 2L, 3L));   // one query, no cache
 * }</pre>
 *
 * @param <K> the key type
 * @param <V> the value type
 * @since 0.1
 */
public final class R2dbcBulkLoader<K, V> implements BulkLoader<K, V>,
    Function<Collection<K>, Flux<V>> {
  private final ConnectionFactory connections;
  private final String sql;
  private final Class<K> keyType;
  private final Function<? super Row, ? extends V> mapper;
  private final Function<V, K> keyOf;
  private final BulkLoader<K, V> asMap;

  R2dbcBulkLoader(ConnectionFactory connections, String sql, Class<K> keyType,
      Function<? super Row, ? extends V> mapper, Function<V, K> keyOf) {
    this.connections = connections;
    this.sql = sql;
    this.keyType = keyType;
    this.mapper = mapper;
    this.keyOf = keyOf;
    this.asMap = BulkLoader.fromFlux(this::apply, keyOf);
  }

  /**
   * Loads the rows of {@code keys} in one query on one connection, duplicates asked once.
   *
   * <p>Emits the mapped rows in the order the query returns them; keys without a row are simply
   * absent. Completes empty at once, without a query, for no keys. Errors with the driver's error
   * if the query fails; a cancel gives the connection back. Nothing runs until subscription.
   *
   * @throws NullPointerException at once if {@code keys} is or contains null
   * @throws ClassCastException at once if a key is not an instance of the key type
   */
  @Override
  public Flux<V> apply(Collection<K> keys) {
    Objects.requireNonNull(keys, "keys must not be null");
    LinkedHashSet<K> distinct = new LinkedHashSet<>(keys);
    if (distinct.isEmpty()) {
      return Flux.empty();
    }
    Object[] array = (Object[]) Array.newInstance(keyType, distinct.size());
    int i = 0;
    for (K key : distinct) {
      Objects.requireNonNull(key, "keys must not contain null");
      array[i++] = keyType.cast(key);
    }
    return R2dbcLoaders.query(connections, sql, array, mapper);
  }

  /** The key of a loaded value, to match rows to the keys asked for. */
  public Function<V, K> keyOf() {
    return keyOf;
  }

  /**
   * Loads the rows of {@code keys} in one query as a map from key to value: keys without a row are
   * absent. Errors as {@link #apply}, and also when two rows have the same key or a key is null
   * (the query or the key extractor is wrong).
   */
  @Override
  public Mono<Map<K, V>> load(Set<K> keys) {
    return asMap.load(keys);
  }

  @Override
  public String toString() {
    return "R2dbcBulkLoader[" + sql + "]";
  }
}
