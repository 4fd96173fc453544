package dev.cacheaside.r2dbc;

import dev.cacheaside.core.CacheAside;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.TransactionDefinition;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Runs writes in an R2DBC transaction and invalidates the cache keys they touched only after the
 * commit succeeded: a rolled-back write invalidates nothing, and a committed write is never failed
 * by the cache. Thread-safe; make one per connection factory and share it.
 *
 * <pre>{@code
 * TransactionalWrites writes = TransactionalWrites.builder(pool)
 *     .invalidationPolicy(InvalidationPolicy.DEFAULT.withOnFailure(alerts::send))   // optional
 *     .build();
 *
 * Mono<Long> updated = writes.execute(products, 42L, connection ->
 *     Mono.from(connection.createStatement("UPDATE product SET price = $1 WHERE id = $2")
 *             .bind("$1", price).bind("$2", 42L).execute())
 *         .flatMap(result -> Mono.from(result.getRowsUpdated())));
 * }</pre>
 *
 * <h2>What happens</h2>
 * <ol>
 *   <li>A connection is taken from the factory and a transaction begun.</li>
 *   <li>The work runs on that connection. If it fails, or the caller cancels, the transaction is
 *       rolled back and nothing is invalidated.</li>
 *   <li>The transaction is committed. If the commit fails, nothing is invalidated and the error is
 *       emitted.</li>
 *   <li>The keys are invalidated through the caches' own {@code invalidateAll}. A failure is
 *       retried ({@link Builder#invalidationPolicy}); one that still fails is counted
 *       ({@link Stats#invalidationFailures()}), logged and handed to
 *       the policy's failure callback, and the write's result is still emitted.</li>
 * </ol>
 * The returned Mono emits the work's result (or completes empty with it) once the invalidation is
 * done, so a read that follows it does not see the old value. Once the commit has been sent, a
 * cancel no longer stops the invalidation; a cancel while the commit is in flight, when it cannot
 * be known whether it went through, invalidates the keys (an extra invalidation costs a reload, a
 * missing one serves stale data). The connection is given back in every case. Each subscription
 * runs a new transaction, so {@code retryWhen} on a serialization failure retries the whole write.
 *
 * @since 0.1
 */
public final class TransactionalWrites {
  private static final Logger LOG = Loggers.getLogger(TransactionalWrites.class);

  private final ConnectionFactory connections;
  private final @Nullable TransactionDefinition definition;
  private final Invalidator invalidator;
  private final LongAdder commits = new LongAdder();
  private final LongAdder rollbacks = new LongAdder();

  private TransactionalWrites(Builder builder) {
    this.connections = builder.connections;
    this.definition = builder.definition;
    this.invalidator = new Invalidator("TransactionalWrites", builder.invalidationPolicy,
        builder.scheduler);
  }

  /** Transactional writes over {@code connections} with the defaults. */
  public static TransactionalWrites create(ConnectionFactory connections) {
    return builder(connections).build();
  }

  /** Starts a builder of transactional writes over {@code connections} (a pool, ideally). */
  public static Builder builder(ConnectionFactory connections) {
    return new Builder(connections);
  }

  /**
   * Runs {@code work} in a transaction and invalidates {@code key} of {@code cache} after the
   * commit. See the class documentation for what happens on error and cancel.
   *
   * @param work the write; gets the transaction's connection, and must use only it
   * @throws NullPointerException at once if an argument is null
   */
  public <K, R> Mono<R> execute(CacheAside<K, ?> cache, K key,
      Function<? super Connection, ? extends Mono<R>> work) {
    Objects.requireNonNull(key, "key must not be null");
    return executeAll(cache, List.of(key), work);
  }

  /**
   * Runs {@code work} in a transaction and invalidates {@code keys} of {@code cache} after the
   * commit. See the class documentation for what happens on error and cancel.
   *
   * @param work the write; gets the transaction's connection, and must use only it
   * @throws NullPointerException at once if an argument is null or a key is null
   */
  public <K, R> Mono<R> executeAll(CacheAside<K, ?> cache, Collection<? extends K> keys,
      Function<? super Connection, ? extends Mono<R>> work) {
    Objects.requireNonNull(cache, "cache must not be null");
    List<K> copy = List.copyOf(keys);
    Objects.requireNonNull(work, "work must not be null");
    return execute((connection, afterCommit) -> {
      afterCommit.invalidateAll(cache, copy);
      return work.apply(connection);
    });
  }

  /**
   * Runs {@code work} in a transaction and, after the commit, invalidates the keys it added to its
   * {@link AfterCommit} (it may add them until its Mono completes). See the class documentation for
   * what happens on error and cancel.
   *
   * @param work the write; gets the transaction's connection, and must use only it
   * @throws NullPointerException at once if {@code work} is null
   */
  public <R> Mono<R> execute(
      BiFunction<? super Connection, ? super AfterCommit, ? extends Mono<R>> work) {
    Objects.requireNonNull(work, "work must not be null");
    return Mono.defer(() -> {
      AfterCommit afterCommit = new AfterCommit();
      AtomicBoolean committing = new AtomicBoolean();
      Mono<Optional<R>> transaction = Mono.usingWhen(
          Mono.<Connection>from(connections.create()),
          connection -> begin(connection)
              .then(Mono.defer(() -> Objects.requireNonNull(work.apply(connection, afterCommit),
                  "work returned null instead of a Mono")))
              .map(Optional::<R>of)
              .defaultIfEmpty(Optional.empty())
              .flatMap(result -> {
                afterCommit.seal();
                committing.set(true);
                return Mono.from(connection.commitTransaction()).thenReturn(result);
              }),
          connection -> Mono.from(connection.close()),
          (connection, error) -> rollbackAndClose(connection),
          connection -> committing.get()
              ? closeAfterCancelledCommit(connection, afterCommit)
              : rollbackAndClose(connection));
      return transaction.flatMap(result -> {
        commits.increment();
        return invalidateDetached(afterCommit).then(Mono.justOrEmpty(result));
      });
    });
  }

  private Mono<Void> begin(Connection connection) {
    return Mono.from(definition == null
        ? connection.beginTransaction()
        : connection.beginTransaction(definition));
  }

  private Mono<Void> rollbackAndClose(Connection connection) {
    rollbacks.increment();
    return Mono.from(connection.rollbackTransaction())
        .onErrorResume(e -> {
          // The connection may be broken; the server then rolls back when it goes away.
          LOG.debug("TransactionalWrites: rollback failed: {}", e.toString());
          return Mono.empty();
        })
        .then(Mono.from(connection.close()));
  }

  private Mono<Void> closeAfterCancelledCommit(Connection connection, AfterCommit afterCommit) {
    LOG.warn("TransactionalWrites: cancelled while committing; invalidating {} key(s) in case the"
        + " commit went through", afterCommit.size());
    invalidateDetached(afterCommit);
    return Mono.from(connection.close());
  }

  /**
   * Starts the invalidation now, independent of the caller's subscription: a caller that cancels
   * stops waiting for it but does not stop it.
   */
  private Mono<Void> invalidateDetached(AfterCommit afterCommit) {
    if (afterCommit.size() == 0) {
      return Mono.empty();
    }
    Mono<Void> invalidation = afterCommit.run(invalidator).cache();
    invalidation.subscribe();
    return invalidation;
  }

  /** A snapshot of the counters. */
  public Stats stats() {
    return new Stats(commits.sum(), rollbacks.sum(), invalidator.keysInvalidated.sum(),
        invalidator.failures.sum());
  }

  @Override
  public String toString() {
    return "TransactionalWrites[" + connections + "]";
  }

  /**
   * The counters of a {@link TransactionalWrites} since it was built.
   *
   * @param commits transactions committed
   * @param rollbacks transactions rolled back (the work failed or was cancelled, or the commit
   *     failed)
   * @param keysInvalidated keys invalidated after a commit
   * @param invalidationFailures invalidations that failed after their retries (reported)
   * @since 0.1
   */
  public record Stats(long commits, long rollbacks, long keysInvalidated,
      long invalidationFailures) {}

  /**
   * Configures {@link TransactionalWrites}; each setter checks its argument at once.
   *
   * @since 0.1
   */
  public static final class Builder {
    private final ConnectionFactory connections;
    private @Nullable TransactionDefinition definition;
    private InvalidationPolicy invalidationPolicy = InvalidationPolicy.DEFAULT;
    private Scheduler scheduler = Schedulers.parallel();

    private Builder(ConnectionFactory connections) {
      this.connections = Objects.requireNonNull(connections, "connections must not be null");
    }

    /**
     * How transactions begin, for example {@code IsolationLevel.SERIALIZABLE}. Default: the
     * connection's default (in PostgreSQL, {@code READ COMMITTED}).
     */
    public Builder transactionDefinition(TransactionDefinition definition) {
      this.definition = Objects.requireNonNull(definition, "definition must not be null");
      return this;
    }

    /**
     * What happens when an invalidation (or a generation bump) fails after its write committed:
     * how it is retried, and whom it is reported to. Default {@link InvalidationPolicy#DEFAULT}.
     */
    public Builder invalidationPolicy(InvalidationPolicy policy) {
      this.invalidationPolicy = Objects.requireNonNull(policy, "invalidationPolicy must not be null");
      return this;
    }

    /** The scheduler for retry pauses; default {@link Schedulers#parallel()}. */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
      return this;
    }

    /** Builds the transactional writes. */
    public TransactionalWrites build() {
      return new TransactionalWrites(this);
    }
  }
}
