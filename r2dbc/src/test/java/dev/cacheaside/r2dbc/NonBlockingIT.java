package dev.cacheaside.r2dbc;

import static dev.cacheaside.r2dbc.Products.BY_ID;
import static dev.cacheaside.r2dbc.Products.BY_IDS;
import static dev.cacheaside.r2dbc.Products.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.r2dbc.Products.Product;
import dev.cacheaside.testing.RealServers;
import io.lettuce.core.RedisClient;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * BlockHound is installed in this JVM and watches the driver's threads too; the whole r2dbc path
 * (loaders, transactional writes, the trigger, the listener and its reconnect) runs on non-blocking
 * threads without blocking.
 */
@RealServers
class NonBlockingIT {

  @Test
  void blockHound_watchesTheDriversThreads(ConnectionFactory db) {
    Products.create(db, 1);
    Function<Long, Mono<Product>> blockingMapper = R2dbcLoaders.byId(db, BY_ID, row -> {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return Product.fromRow(row);
    });

    StepVerifier.create(blockingMapper.apply(1L))
        .expectError(BlockingOperationError.class)
        .verify(TIMEOUT);
  }

  @Test
  void loadsWritesNotificationsAndReconnect_onNonBlockingThreads_neverBlock(ConnectionFactory db,
      RedisClient redis) {
    Products.create(db, 50);
    ConnectionPool pool = new ConnectionPool(ConnectionPoolConfiguration.builder(db)
        .initialSize(0).maxSize(4).build());
    CacheAside<Long, Product> products = Products.cache("nb-products", redis);
    Function<Long, Mono<Product>> byId = R2dbcLoaders.byId(pool, BY_ID, Product::fromRow);
    R2dbcBulkLoader<Long, Product> byIds = R2dbcLoaders.byIds(pool, BY_IDS, Long.class,
        Product::fromRow, Product::id);
    TransactionalWrites writes = TransactionalWrites.create(pool);
    PgInvalidationListener listener = PgInvalidationListener.builder(db)
        .channel("nb_invalidation")
        .table("product", "id", Long::valueOf, products)
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
        .healthCheck(Duration.ofMillis(50))
        .build();
    try {
      listener.installTriggers().then(listener.start()).subscribeOn(Schedulers.parallel())
          .block(TIMEOUT);

      Flux<Object> work = Flux.range(0, 400).flatMap(i -> {
        long id = 1 + i % 50;
        Mono<?> op = switch (i % 5) {
          case 0, 1 -> products.cacheAside(id, byId);
          case 2 -> writes.execute(products, id, connection -> Mono.from(connection
                  .createStatement("UPDATE product SET price = price + 1 WHERE id = $1")
                  .bind(0, id).execute())
              .flatMap(result -> Mono.from(result.getRowsUpdated())));
          case 3 -> products.cacheAsideAll(Flux.just(id, id + 1, id + 60), byIds).collectList();
          default -> writes.execute(products, id, connection -> Mono.error(
                  new IllegalStateException("rolled back")))
              .onErrorResume(IllegalStateException.class, e -> Mono.empty());
        };
        return op.cast(Object.class).subscribeOn(Schedulers.parallel());
      }, 16);
      StepVerifier.create(work.then()).verifyComplete();

      // The listener's reconnect and generation bump, on the driver's and Reactor's threads.
      int pid = listener.backendPid().orElseThrow();
      long reconnects = listener.stats().reconnects();
      Products.one(db, "SELECT pg_terminate_backend(" + pid + ")", Boolean.class);
      Products.await("the listener to reconnect", TIMEOUT,
          () -> listener.stats().reconnects() > reconnects);

      long price = products.cacheAside(7L, byId).block(TIMEOUT).price();
      Products.sql(db, "UPDATE product SET price = 1 WHERE id = 7");
      Products.await("the out-of-band update to reach the cache", TIMEOUT,
          () -> products.cacheAside(7L, byId).subscribeOn(Schedulers.parallel())
              .filter(p -> p.price() == 1));
      assertThat(price).isNotEqualTo(1);
      assertThat(listener.stats().invalidationFailures()).isZero();
      assertThat(writes.stats().invalidationFailures()).isZero();
    } finally {
      listener.stop().block(TIMEOUT);
      pool.disposeLater().block(TIMEOUT);
    }
    assertThat(Optional.of(pool.isDisposed())).contains(true);
  }
}
