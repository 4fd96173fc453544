package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.spring.boot.CatalogTestApp.Product;
import dev.cacheaside.spring.boot.CatalogTestApp.ProductService;
import dev.cacheaside.testing.Latches;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.ResolvableType;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.reactive.TransactionalOperator;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Invalidation after the commit, on real PostgreSQL and Redis, with the interleavings forced by
 * latches: a read lands between a transaction's write and its commit, and after the commit no
 * read returns the old row.
 */
class TransactionIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static ProductService service;
  private static CacheAside<Long, Product> products;
  private static TransactionalOperator transactional;
  private static DatabaseClient db;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void start() {
    ConfigurableApplicationContext app = CatalogTestApp.shared();
    service = app.getBean(ProductService.class);
    products = (CacheAside<Long, Product>) app.getBeanProvider(ResolvableType.forClassWithGenerics(
        CacheAside.class, Long.class, Product.class)).getObject();
    transactional = app.getBean(TransactionalOperator.class);
    db = app.getBean(DatabaseClient.class);
  }

  private static long newProduct(String name) {
    long id = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    service.insert(id, name, 100).block(TIMEOUT);
    return id;
  }

  /** A latch wait off the event loops (a test's own blocking step). */
  private static Mono<Void> await(CountDownLatch latch, String what) {
    return Mono.<Void>fromRunnable(() -> Latches.await(latch, what))
        .subscribeOn(Schedulers.boundedElastic());
  }

  /**
   * The UPDATE to 'new' through {@link CacheAside#writeThenInvalidate}; {@code written} counts
   * down after it, and the transaction then waits for {@code hold} before it may commit.
   */
  private static Mono<Long> renameHolding(long id, CountDownLatch written, CountDownLatch hold,
      String holdFor) {
    return products.writeThenInvalidate(id,
        db.sql("UPDATE product SET name = 'new' WHERE id = $1").bind(0, id)
            .fetch().rowsUpdated()
            .doOnNext(n -> written.countDown())
            .flatMap(n -> await(hold, holdFor).thenReturn(n)));
  }

  private static Function<Long, Mono<Product>> loader(AtomicInteger loads) {
    return id -> Mono.defer(() -> {
      loads.incrementAndGet();
      return service.query(id);
    });
  }

  @Test
  void cacheAsideBeans_areTransactionAware() {
    assertThat(products).isInstanceOf(TransactionAwareCacheAside.class);
  }

  @Test
  void writeThenInvalidate_inATransaction_readBetweenWriteAndCommit_noOldRowAfterCommit() {
    long id = newProduct("old");
    CountDownLatch written = new CountDownLatch(1);
    CountDownLatch readDone = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();

    Mono<Long> write = renameHolding(id, written, readDone, "the read between write and commit");
    var commit = transactional.transactional(write).subscribeOn(Schedulers.parallel()).toFuture();

    Latches.await(written, "the UPDATE");
    Product between = products.cacheAside(id, loader(loads)).block(TIMEOUT);
    readDone.countDown();
    assertThat(commit.join()).isEqualTo(1L);

    assertThat(between.name()).as("the read before the commit sees the committed row").isEqualTo("old");
    assertThat(products.cacheAside(id, loader(loads)).block(TIMEOUT).name()).isEqualTo("new");
    assertThat(products.cacheAside(id, loader(loads)).block(TIMEOUT).name()).isEqualTo("new");
    assertThat(loads).hasValue(2);
  }

  @Test
  void withoutTheDecorator_theSameInterleaving_servesTheOldRowAfterCommit() {
    // The failure the decorator exists for, reproduced with the cache it wraps.
    CacheAside<Long, Product> plain = ((TransactionAwareCacheAside<Long, Product>) products).delegate();
    long id = newProduct("old");
    CountDownLatch invalidated = new CountDownLatch(1);
    CountDownLatch readDone = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();

    Mono<Long> write = plain.writeThenInvalidate(id,
            db.sql("UPDATE product SET name = 'new' WHERE id = $1").bind(0, id)
                .fetch().rowsUpdated())
        .doOnNext(n -> invalidated.countDown())
        .flatMap(n -> await(readDone, "the read between invalidation and commit").thenReturn(n));
    var commit = transactional.transactional(write).subscribeOn(Schedulers.parallel()).toFuture();

    Latches.await(invalidated, "the UPDATE and the (too early) invalidation");
    plain.cacheAside(id, loader(loads)).block(TIMEOUT);
    readDone.countDown();
    commit.join();

    assertThat(plain.cacheAside(id, loader(loads)).block(TIMEOUT).name())
        .as("the old row, cached between invalidation and commit, outlives the commit")
        .isEqualTo("old");
  }

  @Test
  void loadBeforeCommit_storeAfterTheInvalidation_isRefusedByTheLease() {
    long id = newProduct("old");
    CountDownLatch written = new CountDownLatch(1);
    CountDownLatch loaded = new CountDownLatch(1);
    CountDownLatch committed = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();

    Mono<Long> write = renameHolding(id, written, loaded, "the reader's load of the old row");
    var commit = transactional.transactional(write).doOnSuccess(n -> committed.countDown())
        .subscribeOn(Schedulers.parallel()).toFuture();
    Latches.await(written, "the UPDATE");
    // the reader loads the committed (old) row, then holds its store until after the commit
    var read = products.cacheAside(id, key -> service.query(key)
            .doOnNext(p -> {
              loads.incrementAndGet();
              loaded.countDown();
            })
            .flatMap(p -> await(committed, "the commit and its invalidation").thenReturn(p)))
        .subscribeOn(Schedulers.parallel()).toFuture();

    assertThat(commit.join()).isEqualTo(1L);
    assertThat(read.join().name()).as("the reader began before the commit").isEqualTo("old");

    assertThat(products.cacheAside(id, loader(loads)).block(TIMEOUT).name()).isEqualTo("new");
    assertThat(products.stats().leasesLost()).isPositive();
  }

  @Test
  void rollback_invalidatesNothing() {
    long id = newProduct("kept");
    AtomicInteger loads = new AtomicInteger();
    products.cacheAside(id, loader(loads)).block(TIMEOUT);

    Mono<Void> failing = products.invalidate(id)
        .then(products.writeThenInvalidate(id, Mono.just(1)))
        .then(Mono.error(new IllegalStateException("roll back")));
    Throwable error = transactional.transactional(failing).then(Mono.<Throwable>empty())
        .onErrorResume(Mono::just).block(TIMEOUT);

    assertThat(error).hasMessage("roll back");
    assertThat(products.cacheAside(id, loader(loads)).block(TIMEOUT).name()).isEqualTo("kept");
    assertThat(loads).as("still cached: the rolled-back invalidations never ran").hasValue(1);
  }

  @Test
  void outsideATransaction_invalidateRunsAtOnce() {
    long id = newProduct("once");
    AtomicInteger loads = new AtomicInteger();
    products.cacheAside(id, loader(loads)).block(TIMEOUT);

    products.invalidate(id).block(TIMEOUT);

    products.cacheAside(id, loader(loads)).block(TIMEOUT);
    assertThat(loads).hasValue(2);
  }

  @Test
  void transactionalCacheEvict_readBetweenUpdateAndCommit_noOldRowAfterCommit() {
    long id = newProduct("old");
    assertThat(service.product(id).block(TIMEOUT).name()).isEqualTo("old");
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch readDone = new CountDownLatch(1);

    var rename = service.renameHolding(id, "new",
            Mono.fromRunnable(holding::countDown).then(await(readDone, "the read")))
        .subscribeOn(Schedulers.parallel()).toFuture();
    Latches.await(holding, "the UPDATE inside the transaction");
    Product between = service.product(id).block(TIMEOUT);
    readDone.countDown();
    assertThat(rename.join()).isEqualTo(1L);

    assertThat(between.name()).isEqualTo("old");
    assertThat(service.product(id).block(TIMEOUT).name()).isEqualTo("new");
  }
}
