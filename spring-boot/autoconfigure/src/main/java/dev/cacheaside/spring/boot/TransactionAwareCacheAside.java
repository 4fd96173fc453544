package dev.cacheaside.spring.boot;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkOrder;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.WarmOptions;
import dev.cacheaside.core.WarmProgress;
import dev.cacheaside.core.stats.CacheStats;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;
import org.reactivestreams.Publisher;
import org.springframework.transaction.NoTransactionException;
import org.springframework.transaction.reactive.TransactionSynchronization;
import org.springframework.transaction.reactive.TransactionSynchronizationManager;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link CacheAside} whose invalidations wait for the surrounding Spring reactive transaction
 * (a {@code @Transactional} method returning {@code Mono}/{@code Flux}, or a
 * {@code TransactionalOperator}) to commit, and do not happen if it rolls back. Outside a
 * transaction it behaves exactly as the cache it wraps. The auto-configuration applies it to every
 * {@code CacheAside} bean and to the caches of its cache manager.
 *
 * <pre>{@code
 * CacheAside<Long, Product> products = TransactionAwareCacheAside.wrap(plainCache);
 *
 * @Transactional
 * public Mono<Product> rename(long id, String name) {
 *   return products.writeThenInvalidate(id, repository.rename(id, name)); // after the commit
 * }
 * }</pre>
 *
 * <h2>Why after the commit</h2>
 * An invalidation made inside the transaction comes before the commit: a read between the two
 * misses, loads the row as committed (the old one) and caches it, and the old row is then served
 * for the whole TTL. Invalidating after the commit closes that window; a read whose load began
 * before the commit and stores after the invalidation is refused by its lease (the invalidation
 * deleted it).
 *
 * <h2>What each call does inside a transaction</h2>
 * <ul>
 *   <li>{@link #invalidate}, {@link #invalidateAll}: register the invalidation with the
 *       transaction and complete at once; it runs in the transaction's after-commit phase, before
 *       the transactional publisher completes, retried like {@link #writeThenInvalidate}'s and
 *       never failing the committed transaction (a failure is counted in
 *       {@link CacheStats#invalidationFailures()} and logged).</li>
 *   <li>{@link #writeThenInvalidate}: runs the write in the transaction, then registers the
 *       invalidation; on rollback nothing is invalidated.</li>
 *   <li>Reads, {@link #warm} and {@link #bumpGeneration()} run at once, as outside.</li>
 * </ul>
 * The transaction is found in the subscriber's Reactor {@code Context}, so subscribe to these
 * publishers inside the transactional flow (return them from the {@code @Transactional} method,
 * or compose them into it), not with a separate {@code subscribe()}.
 *
 * @param <K> the key type
 * @param <V> the value type
 * @since 0.1
 */
public final class TransactionAwareCacheAside<K, V> implements CacheAside<K, V> {
  private final CacheAside<K, V> delegate;

  private TransactionAwareCacheAside(CacheAside<K, V> delegate) {
    this.delegate = delegate;
  }

  /** {@code cache}, transaction-aware; a cache that already is one is returned as it is. */
  public static <K, V> CacheAside<K, V> wrap(CacheAside<K, V> cache) {
    Objects.requireNonNull(cache, "cache must not be null");
    return cache instanceof TransactionAwareCacheAside<K, V> ? cache
        : new TransactionAwareCacheAside<>(cache);
  }

  /** The cache this one defers invalidations for. */
  public CacheAside<K, V> delegate() {
    return delegate;
  }

  /**
   * Runs {@code action} after the commit of the transaction of the subscriber's Context, or now
   * when there is none. Inside a transaction the returned Mono completes once the action is
   * registered; the action must not fail (the commit already happened when it runs).
   */
  static Mono<Void> afterCommitOrNow(Supplier<? extends Mono<?>> action) {
    return TransactionSynchronizationManager.forCurrentTransaction()
        .map(transaction -> {
          if (!transaction.isSynchronizationActive()) {
            return false;
          }
          transaction.registerSynchronization(new TransactionSynchronization() {
            @Override
            public Mono<Void> afterCommit() {
              return action.get().then();
            }
          });
          return true;
        })
        .onErrorResume(NoTransactionException.class, e -> Mono.just(false))
        .flatMap(registered -> registered ? Mono.<Void>empty() : action.get().then());
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public Mono<V> cacheAside(K key, Function<? super K, ? extends Mono<V>> loader) {
    return delegate.cacheAside(key, loader);
  }

  @Override
  public Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys, BulkLoader<K, V> loader) {
    return delegate.cacheAsideAll(keys, loader);
  }

  @Override
  public Flux<BulkResult<K, V>> cacheAsideAll(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      BulkOrder order) {
    return delegate.cacheAsideAll(keys, loader, order);
  }

  @Override
  public Flux<WarmProgress> warm(Publisher<? extends K> keys, BulkLoader<K, V> loader,
      WarmOptions options) {
    return delegate.warm(keys, loader, options);
  }

  /**
   * Inside a transaction, registers the invalidation to run after the commit and completes;
   * outside, {@link CacheAside#invalidate} of the wrapped cache.
   */
  @Override
  public Mono<Void> invalidate(K key) {
    Objects.requireNonNull(key, "key must not be null");
    return TransactionSynchronizationManager.forCurrentTransaction()
        .filter(TransactionSynchronizationManager::isSynchronizationActive)
        .onErrorResume(NoTransactionException.class, e -> Mono.empty())
        .flatMap(transaction -> register(transaction, List.of(key)).thenReturn(true))
        .switchIfEmpty(Mono.defer(() -> delegate.invalidate(key).thenReturn(true)))
        .then();
  }

  /** {@link #invalidate} for many keys. */
  @Override
  public Mono<Void> invalidateAll(Collection<? extends K> keys) {
    Objects.requireNonNull(keys, "keys must not be null");
    List<K> copy = List.copyOf(keys);
    return TransactionSynchronizationManager.forCurrentTransaction()
        .filter(TransactionSynchronizationManager::isSynchronizationActive)
        .onErrorResume(NoTransactionException.class, e -> Mono.empty())
        .flatMap(transaction -> register(transaction, copy).thenReturn(true))
        .switchIfEmpty(Mono.defer(() -> delegate.invalidateAll(copy).thenReturn(true)))
        .then();
  }

  /**
   * Inside a transaction, runs {@code write} and registers the invalidation of {@code key} to run
   * after the commit; outside, {@link CacheAside#writeThenInvalidate} of the wrapped cache.
   */
  @Override
  public <R> Mono<R> writeThenInvalidate(K key, Mono<R> write) {
    Objects.requireNonNull(key, "key must not be null");
    Objects.requireNonNull(write, "write must not be null");
    return TransactionSynchronizationManager.forCurrentTransaction()
        .filter(TransactionSynchronizationManager::isSynchronizationActive)
        .onErrorResume(NoTransactionException.class, e -> Mono.empty())
        .map(transaction -> write
            .flatMap(result -> register(transaction, List.of(key)).thenReturn(result))
            .switchIfEmpty(register(transaction, List.of(key)).then(Mono.empty())))
        .defaultIfEmpty(Mono.defer(() -> delegate.writeThenInvalidate(key, write)))
        .flatMap(Function.identity());
  }

  /**
   * The invalidation, after the commit, retried and counted as the wrapped cache's
   * {@code writeThenInvalidate} does for a write that already happened: it never fails.
   */
  private Mono<Void> register(TransactionSynchronizationManager transaction, List<K> keys) {
    return Mono.fromRunnable(() -> transaction.registerSynchronization(
        new TransactionSynchronization() {
          @Override
          public Mono<Void> afterCommit() {
            return Flux.fromIterable(keys)
                .flatMap(key -> delegate.writeThenInvalidate(key, Mono.empty()))
                .then();
          }
        }));
  }

  @Override
  public Mono<Long> bumpGeneration() {
    return delegate.bumpGeneration();
  }

  @Override
  public Mono<String> storeKey(K key) {
    return delegate.storeKey(key);
  }

  @Override
  public CacheStats stats() {
    return delegate.stats();
  }

  @Override
  public String toString() {
    return "TransactionAware" + delegate;
  }
}
