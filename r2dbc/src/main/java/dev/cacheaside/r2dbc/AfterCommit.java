package dev.cacheaside.r2dbc;

import dev.cacheaside.core.CacheAside;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The keys a transaction of {@link TransactionalWrites#execute(java.util.function.BiFunction)}
 * invalidates once it has committed; the work adds them as it learns them (for example from
 * {@code UPDATE ... RETURNING id}). Discarded if the transaction rolls back. Thread-safe.
 *
 * <pre>{@code
 * writes.execute((connection, afterCommit) ->
 *     Flux.from(connection.createStatement(
 *             "UPDATE product SET price = price * 1.1 WHERE category = $1 RETURNING id")
 *         .bind("$1", "books").execute())
 *     .flatMap(result -> result.map(row -> row.get("id", Long.class)))
 *     .doOnNext(id -> afterCommit.invalidate(products, id))
 *     .count());
 * }</pre>
 *
 * @since 0.1
 */
public final class AfterCommit {
  /** By identity: a cache is one object, whatever its equals says. */
  private final Map<CacheAside<?, ?>, Set<Object>> keys = new IdentityHashMap<>();
  private boolean sealed;

  AfterCommit() {}

  /**
   * Invalidates {@code key} of {@code cache} after the commit.
   *
   * @return this
   * @throws NullPointerException if an argument is null
   * @throws IllegalStateException if the transaction's work has already ended
   */
  public <K> AfterCommit invalidate(CacheAside<K, ?> cache, K key) {
    Objects.requireNonNull(key, "key must not be null");
    return invalidateAll(cache, List.of(key));
  }

  /**
   * Invalidates {@code keys} of {@code cache} after the commit.
   *
   * @return this
   * @throws NullPointerException if an argument is null or a key is null
   * @throws IllegalStateException if the transaction's work has already ended
   */
  public synchronized <K> AfterCommit invalidateAll(CacheAside<K, ?> cache,
      Collection<? extends K> keys) {
    Objects.requireNonNull(cache, "cache must not be null");
    Objects.requireNonNull(keys, "keys must not be null");
    if (sealed) {
      throw new IllegalStateException("the transaction's work has ended: add keys to invalidate"
          + " before its Mono completes");
    }
    Set<Object> set = this.keys.computeIfAbsent(cache, c -> new LinkedHashSet<>());
    for (K key : keys) {
      set.add(Objects.requireNonNull(key, "keys must not contain null"));
    }
    return this;
  }

  /** Ends additions: the work is done and the commit is about to be sent. */
  synchronized void seal() {
    sealed = true;
  }

  synchronized int size() {
    int size = 0;
    for (Set<Object> set : keys.values()) {
      size += set.size();
    }
    return size;
  }

  /** Invalidates everything added, one {@code invalidateAll} per cache, caches in parallel. */
  Mono<Void> run(Invalidator invalidator) {
    List<Mono<Void>> each = new ArrayList<>();
    synchronized (this) {
      keys.forEach((cache, set) -> each.add(invalidate(invalidator, cache, set)));
    }
    return Flux.merge(each).then();
  }

  @SuppressWarnings("unchecked")
  private static Mono<Void> invalidate(Invalidator invalidator, CacheAside<?, ?> cache,
      Set<Object> keys) {
    // Safe: invalidateAll only admits keys of the cache's own key type.
    return invalidator.invalidate((CacheAside<Object, ?>) cache, List.copyOf(keys));
  }
}
