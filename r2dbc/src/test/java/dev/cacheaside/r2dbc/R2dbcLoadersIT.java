package dev.cacheaside.r2dbc;

import static dev.cacheaside.r2dbc.Products.BY_ID;
import static dev.cacheaside.r2dbc.Products.BY_IDS;
import static dev.cacheaside.r2dbc.Products.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.r2dbc.Products.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.RealServers;
import io.lettuce.core.RedisClient;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.pool.PoolMetrics;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.R2dbcBadGrammarException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

@RealServers
class R2dbcLoadersIT {
  private final ConnectionFactory db;
  private final ConnectionPool pool;

  R2dbcLoadersIT(ConnectionFactory db) {
    this.db = db;
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(db)
        .initialSize(0).maxSize(2).maxAcquireTime(Duration.ofSeconds(10)).build());
  }

  @BeforeEach
  void seed() {
    Products.create(db, 2_000);
  }

  @AfterEach
  void closePool() {
    pool.disposeLater().block(TIMEOUT);
  }

  private PoolMetrics metrics() {
    return pool.getMetrics().orElseThrow();
  }

  private void awaitPoolIdle() {
    Products.await("the pool to have no connection acquired", TIMEOUT,
        () -> metrics().acquiredSize() == 0 && metrics().pendingAcquireSize() == 0);
    assertThat(metrics().idleSize()).as("idle = allocated").isEqualTo(metrics().allocatedSize());
  }

  @Test
  void byId_existingRow_emitsTheMappedRow() {
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool, BY_ID, Product::fromRow);

    StepVerifier.create(byId.apply(7L))
        .expectNext(new Product(7, "p7", 700))
        .verifyComplete();
    awaitPoolIdle();
  }

  @Test
  void byId_missingRow_completesEmpty() {
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool, BY_ID, Product::fromRow);

    StepVerifier.create(byId.apply(999_999L)).verifyComplete();
    awaitPoolIdle();
  }

  @Test
  void byId_throughCacheAside_loadsOnceThenHits(RedisClient redis) {
    CacheAside<Long, Product> products = Products.cache("loaders-products", redis);
    AtomicInteger loads = new AtomicInteger();
    Function<Long, Mono<Product>> loader = Products.loader(pool, loads);

    StepVerifier.create(products.cacheAside(3L, loader)).expectNext(new Product(3, "p3", 300))
        .verifyComplete();
    StepVerifier.create(products.cacheAside(3L, loader)).expectNext(new Product(3, "p3", 300))
        .verifyComplete();
    StepVerifier.create(products.cacheAside(999_999L, loader)).verifyComplete();
    StepVerifier.create(products.cacheAside(999_999L, loader)).as("negative hit").verifyComplete();

    assertThat(products.stats()).as("stats").satisfies(s -> assertThat(s.storeErrors()).isZero());
    assertThat(loads).hasValue(2);
    assertThat(products.stats().hits()).isEqualTo(1);
    assertThat(products.stats().negativeHits()).isEqualTo(1);
    awaitPoolIdle();
  }

  @Test
  void byId_sqlError_isTheCallsError_andReleasesTheConnection() {
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool,
        "SELECT id, name, price FROM no_such_table WHERE id = $1", Product::fromRow);

    StepVerifier.create(byId.apply(1L))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(R2dbcBadGrammarException.class)
            .hasMessageContaining("no_such_table"))
        .verify(TIMEOUT);
    awaitPoolIdle();
  }

  @Test
  void byId_moreThanOneRow_errorsNamingTheKey() {
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool,
        "SELECT id, name, price FROM product WHERE id >= $1 ORDER BY id", Product::fromRow);

    StepVerifier.create(byId.apply(1_999L))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("more than one row for key 1999"))
        .verify(TIMEOUT);
    awaitPoolIdle();
  }

  @Test
  void byId_mapperReturnsNull_errorsClearly() {
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool, BY_ID, row -> null);

    StepVerifier.create(byId.apply(1L))
        .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(NullPointerException.class)
            .hasMessageContaining("row mapper returned null"))
        .verify(TIMEOUT);
    awaitPoolIdle();
  }

  @Test
  void byId_cancelledWhileTheQueryRuns_releasesTheConnection() {
    Function<Long, Mono<Product>> slow = R2dbcLoaders.byId(pool,
        "SELECT id, name, price FROM product WHERE id = $1 AND pg_sleep(0.3) IS NOT NULL",
        Product::fromRow);

    Disposable call = slow.apply(1L).subscribe();
    Products.await("the query to hold a connection", TIMEOUT, () -> metrics().acquiredSize() == 1);
    call.dispose();

    awaitPoolIdle();
    StepVerifier.create(R2dbcLoaders.<Long, Product>byId(pool, BY_ID, Product::fromRow).apply(2L))
        .as("the pool still serves")
        .expectNext(new Product(2, "p2", 200))
        .verifyComplete();
    awaitPoolIdle();
  }

  @Test
  void byId_cancelledWhileWaitingForAConnection_leavesNothingAcquired() {
    Function<Long, Mono<Product>> slow = R2dbcLoaders.byId(pool,
        "SELECT id, name, price FROM product WHERE id = $1 AND pg_sleep(0.3) IS NOT NULL",
        Product::fromRow);
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool, BY_ID, Product::fromRow);

    Mono<List<Product>> both = Flux.merge(slow.apply(1L), slow.apply(2L)).collectList();
    Disposable holders = both.subscribe();
    Products.await("both connections to be taken", TIMEOUT, () -> metrics().acquiredSize() == 2);
    Disposable waiting = byId.apply(3L).subscribe();
    Products.await("the third call to wait", TIMEOUT, () -> metrics().pendingAcquireSize() == 1);
    waiting.dispose();

    Products.await("the holders to finish", TIMEOUT, holders::isDisposed);
    awaitPoolIdle();
  }

  @Test
  void byIds_thousandIds_oneQueryOnOneConnection() {
    InterceptingConnectionFactory counting = new InterceptingConnectionFactory(pool);
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(counting, BY_IDS, Long.class,
        Product::fromRow, Product::id);

    List<Product> rows = byIds.apply(Products.ids(1, 1_000)).collectList().block(TIMEOUT);

    assertThat(rows).hasSize(1_000);
    assertThat(rows).extracting(Product::id).containsExactlyInAnyOrderElementsOf(
        Products.ids(1, 1_000));
    assertThat(counting.statements).as("queries sent").hasValue(1);
    awaitPoolIdle();
  }

  @Test
  void byIds_missingIds_areAbsent() {
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(pool, BY_IDS, Long.class,
        Product::fromRow, Product::id);

    assertThat(byIds.apply(List.of(1L, 2L, 2L, 5_000L, 6_000L)).collectList().block(TIMEOUT))
        .containsExactlyInAnyOrder(new Product(1, "p1", 100), new Product(2, "p2", 200));
    Map<Long, Product> found = byIds.load(Set.of(1L, 2L, 5_000L, 6_000L)).block(TIMEOUT);
    assertThat(found).containsOnlyKeys(1L, 2L);
    assertThat(found.get(2L)).isEqualTo(new Product(2, "p2", 200));
    awaitPoolIdle();
  }

  @Test
  void byIds_throughCacheAsideAll_thousandKeys_oneQuery_thenAllFromTheCache(RedisClient redis) {
    InterceptingConnectionFactory counting = new InterceptingConnectionFactory(pool);
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(counting, BY_IDS, Long.class,
        Product::fromRow, Product::id);
    CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("loaders-bulk")
        .store(RedisCacheStore.create(redis)).codec(Products.CODEC)
        .bulkWindow(1_000, Duration.ofSeconds(1)).bulkMaxLoadChunk(1_000)
        .build();
    List<Long> ids = Products.ids(1_001, 2_050); // 1,000 rows, then 50 ids without a row

    List<BulkResult<Long, Product>> first = products.cacheAsideAll(
        Flux.fromIterable(ids.subList(0, 1_000)), byIds).collectList().block(TIMEOUT);
    List<BulkResult<Long, Product>> again = products.cacheAsideAll(
        Flux.fromIterable(ids), byIds).collectList().block(TIMEOUT);

    assertThat(first).hasSize(1_000).allSatisfy(r -> assertThat(r.value())
        .isEqualTo(new Product(r.key(), "p" + r.key(), r.key() * 100)));
    assertThat(again.stream().filter(BulkResult::isPresent)).hasSize(1_000);
    assertThat(again.stream().filter(r -> !r.isPresent() && !r.isFailed())).hasSize(50);
    assertThat(counting.statements).as("one query per call that missed").hasValue(2);
    awaitPoolIdle();
  }

  @Test
  void byIds_noIds_sendsNoQuery() {
    InterceptingConnectionFactory counting = new InterceptingConnectionFactory(pool);
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(counting, BY_IDS, Long.class,
        Product::fromRow, Product::id);

    StepVerifier.create(byIds.apply(List.of())).verifyComplete();
    assertThat(counting.statements).hasValue(0);
  }

  @Test
  void byIds_stringAndIntegerKeys_bindTheirArrayTypes() {
    R2dbcBulkLoader<String, Product> byNames = R2dbcLoaders.byIds(pool,
        "SELECT id, name, price FROM product WHERE name = ANY($1)", String.class,
        Product::fromRow, Product::name);
    R2dbcBulkLoader<Integer, Product> byIntIds = R2dbcLoaders.byIds(pool, BY_IDS, Integer.class,
        Product::fromRow, p -> (int) p.id());

    assertThat(byNames.load(Set.of("p4", "p5", "nope")).block(TIMEOUT))
        .containsOnlyKeys("p4", "p5");
    assertThat(byIntIds.load(Set.of(8, 9)).block(TIMEOUT)).containsOnlyKeys(8, 9);
    awaitPoolIdle();
  }

  @Test
  void byIds_sqlError_isTheCallsError_andReleasesTheConnection() {
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(pool,
        "SELECT id, name, price, no_such_column FROM product WHERE id = ANY($1)", Long.class,
        Product::fromRow, Product::id);

    StepVerifier.create(byIds.apply(List.of(1L, 2L)))
        .expectError(R2dbcBadGrammarException.class)
        .verify(TIMEOUT);
    awaitPoolIdle();
  }

  @Test
  void byIds_cancelledMidStream_releasesTheConnection() {
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(pool, BY_IDS, Long.class,
        Product::fromRow, Product::id);

    StepVerifier.create(byIds.apply(Products.ids(1, 2_000)), 1)
        .expectNextCount(1)
        .thenCancel()
        .verify(TIMEOUT);
    awaitPoolIdle();
    assertThat(byIds.apply(Products.ids(1, 10)).count().block(TIMEOUT)).isEqualTo(10);
  }

  @Test
  void badArguments_failAtOnce_namingTheProblem() {
    assertThatThrownBy(() -> R2dbcLoaders.byId(pool, "SELECT 1", Product::fromRow))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("$1");
    assertThatThrownBy(() -> R2dbcLoaders.byId(pool, " ", Product::fromRow))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blank");
    assertThatThrownBy(() -> R2dbcLoaders.byIds(pool, BY_IDS, long.class, r -> 1L, v -> v))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("long");
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool, BY_ID, Product::fromRow);
    assertThatThrownBy(() -> byId.apply(null)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("key");
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(pool, BY_IDS, Long.class,
        Product::fromRow, Product::id);
    assertThatThrownBy(() -> byIds.apply(java.util.Arrays.asList(1L, null)))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("null");
  }

  @Test
  void connectionsOfAPlainFactory_areClosed() {
    // Without a pool, "released" means closed: the backend goes away.
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(db,
        "SELECT id, name, pg_backend_pid()::bigint AS price FROM product WHERE id = $1",
        Product::fromRow);
    long pid = byId.apply(1L).block(TIMEOUT).price();

    Products.await("backend " + pid + " to end", TIMEOUT, () -> Products.one(db,
        "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid, Long.class) == 0);
  }
}
