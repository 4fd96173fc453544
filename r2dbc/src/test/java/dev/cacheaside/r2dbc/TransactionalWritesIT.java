package dev.cacheaside.r2dbc;

import dev.cacheaside.core.InvalidationRetry;
import static dev.cacheaside.r2dbc.Products.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.r2dbc.Products.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.RealServers;
import io.lettuce.core.RedisClient;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

@RealServers
class TransactionalWritesIT {
  private final ConnectionFactory db;
  private final RedisClient redis;
  private final ConnectionPool pool;
  private final AtomicInteger loads = new AtomicInteger();
  private final Function<Long, Mono<Product>> loader;

  TransactionalWritesIT(ConnectionFactory db, RedisClient redis) {
    this.db = db;
    this.redis = redis;
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(db)
        .initialSize(0).maxSize(2).build());
    this.loader = Products.loader(pool, loads);
  }

  @BeforeEach
  void seed() {
    Products.create(db, 10);
  }

  @AfterEach
  void poolIsIdle_andClosed() {
    Products.await("the pool to have no connection acquired", TIMEOUT,
        () -> pool.getMetrics().orElseThrow().acquiredSize() == 0);
    pool.disposeLater().block(TIMEOUT);
  }

  private static Function<Connection, Mono<Long>> setPrice(long id, long price) {
    return connection -> Flux.from(connection
            .createStatement("UPDATE product SET price = $1 WHERE id = $2")
            .bind(0, price).bind(1, id).execute())
        .flatMap(result -> result.getRowsUpdated())
        .reduce(0L, Long::sum);
  }

  /** Writes that retry {@code maxRetries} times, 1 to 5 ms apart, and report to {@code reported}. */
  private TransactionalWrites writesReportingTo(List<InvalidationFailure> reported,
      int maxRetries) {
    return TransactionalWrites.builder(pool)
        .invalidationPolicy(new InvalidationPolicy(
            new InvalidationRetry(maxRetries, Duration.ofMillis(1), Duration.ofMillis(5)),
            reported::add))
        .build();
  }

  private long priceInDb(long id) {
    return Products.one(db, "SELECT price FROM product WHERE id = " + id, Long.class);
  }

  private Product read(CacheAside<Long, Product> cache, long id) {
    return cache.cacheAside(id, loader).block(TIMEOUT);
  }

  @Test
  void commit_invalidatesTheKey_beforeTheResultIsEmitted() {
    CacheAside<Long, Product> products = Products.cache("tx-commit", redis);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    assertThat(read(products, 1)).isEqualTo(new Product(1, "p1", 100));

    StepVerifier.create(writes.execute(products, 1L, setPrice(1, 150)))
        .expectNext(1L)
        .verifyComplete();

    assertThat(read(products, 1)).as("read after the write").isEqualTo(new Product(1, "p1", 150));
    assertThat(loads).as("the cached value was invalidated").hasValue(2);
    assertThat(writes.stats()).isEqualTo(new TransactionalWrites.Stats(1, 0, 1, 0));
  }

  @Test
  void rollback_whenTheWorkFails_invalidatesNothing() {
    CacheAside<Long, Product> products = Products.cache("tx-rollback", redis);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    read(products, 1);

    StepVerifier.create(writes.execute(products, 1L, connection -> setPrice(1, 150)
            .apply(connection)
            .then(Mono.error(new IllegalStateException("business rule failed")))))
        .expectErrorMessage("business rule failed")
        .verify(TIMEOUT);

    assertThat(priceInDb(1)).as("rolled back").isEqualTo(100);
    assertThat(read(products, 1)).isEqualTo(new Product(1, "p1", 100));
    assertThat(loads).as("still cached").hasValue(1);
    assertThat(writes.stats()).isEqualTo(new TransactionalWrites.Stats(0, 1, 0, 0));
  }

  @Test
  void rollback_whenTheCallerCancels_invalidatesNothing() {
    CacheAside<Long, Product> products = Products.cache("tx-cancel", redis);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    read(products, 1);
    AtomicInteger updated = new AtomicInteger();

    Disposable call = writes.execute(products, 1L, connection -> setPrice(1, 150)
            .apply(connection)
            .doOnNext(n -> updated.incrementAndGet())
            .then(Mono.never()))
        .subscribe();
    Products.await("the UPDATE to have run", TIMEOUT, () -> updated.get() == 1);
    call.dispose();

    Products.await("the rollback", TIMEOUT, () -> writes.stats().rollbacks() == 1);
    assertThat(priceInDb(1)).as("rolled back").isEqualTo(100);
    assertThat(read(products, 1)).isEqualTo(new Product(1, "p1", 100));
    assertThat(loads).as("still cached").hasValue(1);
  }

  @Test
  void cancelWhileTheCommitIsInFlight_invalidatesAnyway() {
    InterceptingConnectionFactory connections = new InterceptingConnectionFactory(pool);
    CacheAside<Long, Product> products = Products.cache("tx-cancel-commit", redis);
    TransactionalWrites writes = TransactionalWrites.create(connections);
    read(products, 1);
    AtomicInteger committed = new AtomicInteger();
    // The server commits, but the caller never hears back: it can only cancel.
    connections.onCommit = commit -> commit.doOnSuccess(done -> committed.incrementAndGet())
        .then(Mono.never());

    Disposable call = writes.execute(products, 1L, setPrice(1, 150)).subscribe();
    Products.await("the COMMIT to have been done", TIMEOUT, () -> committed.get() == 1);
    call.dispose();

    Products.await("the invalidation", TIMEOUT, () -> writes.stats().keysInvalidated() == 1);
    assertThat(priceInDb(1)).isEqualTo(150);
    assertThat(read(products, 1).price()).as("no stale read").isEqualTo(150);
    assertThat(writes.stats().rollbacks()).isZero();
  }

  @Test
  void commitFails_deferredConstraint_invalidatesNothing_andEmitsTheError() {
    Products.sql(db, "ALTER TABLE product ADD CONSTRAINT product_name UNIQUE (name)"
        + " DEFERRABLE INITIALLY DEFERRED");
    CacheAside<Long, Product> products = Products.cache("tx-commit-fails", redis);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    read(products, 1);

    StepVerifier.create(writes.execute(products, 1L, connection -> Mono.from(connection
            .createStatement("UPDATE product SET name = 'p2', price = 999 WHERE id = 1").execute())
            .flatMap(result -> Mono.from(result.getRowsUpdated()))))
        .as("the UPDATE succeeds, the COMMIT fails")
        .expectError(R2dbcDataIntegrityViolationException.class)
        .verify(TIMEOUT);

    assertThat(priceInDb(1)).isEqualTo(100);
    assertThat(read(products, 1)).isEqualTo(new Product(1, "p1", 100));
    assertThat(loads).as("still cached").hasValue(1);
    assertThat(writes.stats().commits()).isZero();
  }

  @Test
  void invalidationFailsTwice_isRetried_andSucceeds_withoutAReport() {
    FailingDeletes store = new FailingDeletes(RedisCacheStore.create(redis));
    CacheAside<Long, Product> products = Products.cache("tx-retry", store);
    List<InvalidationFailure> reported = new CopyOnWriteArrayList<>();
    TransactionalWrites writes = writesReportingTo(reported, 3);
    read(products, 1);
    store.failures.set(2);

    StepVerifier.create(writes.execute(products, 1L, setPrice(1, 150)))
        .expectNext(1L)
        .verifyComplete();

    assertThat(store.attempts).hasValue(3);
    assertThat(reported).isEmpty();
    assertThat(read(products, 1).price()).isEqualTo(150);
    assertThat(writes.stats()).isEqualTo(new TransactionalWrites.Stats(1, 0, 1, 0));
  }

  @Test
  void invalidationKeepsFailing_isRetried_thenReported_andTheCommittedWriteStillSucceeds() {
    FailingDeletes store = new FailingDeletes(RedisCacheStore.create(redis));
    CacheAside<Long, Product> products = Products.cache("tx-report", store);
    List<InvalidationFailure> reported = new CopyOnWriteArrayList<>();
    TransactionalWrites writes = writesReportingTo(reported, 2);
    read(products, 1);
    store.failures.set(Integer.MAX_VALUE);

    StepVerifier.create(writes.execute(products, 1L, setPrice(1, 150)))
        .as("the write's result, not the cache's error")
        .expectNext(1L)
        .verifyComplete();

    assertThat(priceInDb(1)).as("committed").isEqualTo(150);
    assertThat(store.attempts).as("first attempt and two retries").hasValue(3);
    assertThat(writes.stats()).isEqualTo(new TransactionalWrites.Stats(1, 0, 0, 1));
    assertThat(reported).singleElement().satisfies(failure -> {
      assertThat(failure.cache()).isSameAs(products);
      assertThat(failure.keys()).isEqualTo(List.of(1L));
      assertThat(failure.action()).isEqualTo(InvalidationFailure.Action.INVALIDATE);
      assertThat(failure.attempts()).isEqualTo(3);
      assertThat(failure.error()).hasMessageContaining("injected");
    });
  }

  @Test
  void aThrowingFailureCallback_doesNotFailTheWrite() {
    FailingDeletes store = new FailingDeletes(RedisCacheStore.create(redis));
    CacheAside<Long, Product> products = Products.cache("tx-bad-callback", store);
    TransactionalWrites writes = TransactionalWrites.builder(pool)
        .invalidationPolicy(new InvalidationPolicy(InvalidationRetry.NONE, failure -> {
          throw new IllegalStateException("callback bug");
        }))
        .build();
    store.failures.set(Integer.MAX_VALUE);

    StepVerifier.create(writes.execute(products, 1L, setPrice(1, 150)))
        .expectNext(1L)
        .verifyComplete();
    assertThat(writes.stats().invalidationFailures()).isEqualTo(1);
  }

  @Test
  void afterCommit_keysLearnedFromReturning_areInvalidated_inEveryCache() {
    CacheAside<Long, Product> products = Products.cache("tx-returning", redis);
    CacheAside<Long, Product> others = Products.cache("tx-returning-others", redis);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    for (long id = 1; id <= 4; id++) {
      read(products, id);
      read(others, id);
    }
    assertThat(loads).hasValue(8);

    Mono<Long> raise = writes.execute((connection, afterCommit) -> Flux.from(connection
            .createStatement("UPDATE product SET price = price + 1 WHERE id <= 3 RETURNING id")
            .execute())
        .flatMap(result -> result.map((row, metadata) -> row.get("id", Long.class)))
        .doOnNext(id -> afterCommit.invalidate(products, id).invalidate(others, id))
        .count());

    StepVerifier.create(raise).expectNext(3L).verifyComplete();
    assertThat(List.of(read(products, 1), read(products, 3), read(others, 2)))
        .extracting(Product::price).containsExactly(101L, 301L, 201L);
    assertThat(read(products, 4).price()).as("untouched, still cached").isEqualTo(400);
    assertThat(loads).as("three reloads").hasValue(11);
    assertThat(writes.stats().keysInvalidated()).isEqualTo(6);
  }

  @Test
  void afterCommit_addingAfterTheWorkEnded_fails() {
    CacheAside<Long, Product> products = Products.cache("tx-late", redis);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    AtomicReference<AfterCommit> leaked = new AtomicReference<>();

    writes.execute((connection, afterCommit) -> {
      leaked.set(afterCommit);
      return Mono.just(1);
    }).block(TIMEOUT);

    assertThatThrownBy(() -> leaked.get().invalidate(products, 1L))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("ended");
  }

  @Test
  void emptyResult_isCommitted_andStillInvalidates() {
    CacheAside<Long, Product> products = Products.cache("tx-empty", redis);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    read(products, 1);

    StepVerifier.create(writes.execute(products, 1L, connection -> setPrice(1, 150)
            .apply(connection).then()))
        .verifyComplete();
    assertThat(read(products, 1).price()).isEqualTo(150);
  }

  @Test
  void badArguments_failAtOnce() {
    TransactionalWrites writes = TransactionalWrites.create(pool);
    CacheAside<Long, Product> products = Products.cache("tx-args", redis);
    assertThatThrownBy(() -> writes.execute(products, null, setPrice(1, 1)))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("key");
    assertThatThrownBy(() -> writes.execute(null)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("work");
    assertThatThrownBy(() -> new InvalidationRetry(-1, Duration.ofMillis(1), Duration.ofMillis(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxRetries");
  }
}
