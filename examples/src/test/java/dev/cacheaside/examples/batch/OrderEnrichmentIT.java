package dev.cacheaside.examples.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.examples.Product;
import dev.cacheaside.examples.batch.OrderEnrichment.EnrichedLine;
import dev.cacheaside.examples.batch.OrderEnrichment.OrderLine;
import dev.cacheaside.examples.catalog.ProductTable;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.RealServers;
import io.lettuce.core.RedisClient;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@RealServers
class OrderEnrichmentIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int PRODUCTS = 2_000;
  private static final int IDS = 2_100; // ids above PRODUCTS do not exist
  private static final int LINES = 10_000;
  private static final int BATCH = 500;

  private final ConnectionPool pool;
  private final RedisCacheStore store;
  private final OrderEnrichment job;

  OrderEnrichmentIT(RedisClient redis, ConnectionFactory db) {
    this.pool = new ConnectionPool(ConnectionPoolConfiguration.builder(db)
        .initialSize(0).maxSize(4).maxAcquireTime(TIMEOUT).build());
    ProductTable.createAndSeed(pool, PRODUCTS).block(TIMEOUT);
    this.store = RedisCacheStore.create(redis);
    this.job = new OrderEnrichment(OrderEnrichment.cache("orders", store, BATCH),
        ProductTable.byIds(pool), BATCH);
  }

  @AfterEach
  void close() {
    store.close();
    pool.disposeLater().block(TIMEOUT);
  }

  @Test
  void enrich_coldThenWarm_everyLineRight_eachProductLoadedOnce_oneQueryPerBatchWithMisses() {
    List<OrderLine> lines = OrderEnrichment.sampleLines(LINES, IDS, 7).collectList().block();

    List<EnrichedLine> cold = job.enrich(OrderEnrichment.sampleLines(LINES, IDS, 7))
        .collectList().block(TIMEOUT);

    assertThat(cold).hasSize(LINES);
    for (int i = 0; i < LINES; i++) {
      OrderLine line = lines.get(i);
      Product expected = line.productId() <= PRODUCTS ? ProductTable.seeded(line.productId()) : null;
      assertThat(cold.get(i)).as("line %d", i).isEqualTo(new EnrichedLine(line, expected));
    }
    // The bound: ceil(distinct misses / load chunk) queries per batch, the load chunk being the
    // batch size; a batch's misses are the ids no earlier batch asked for.
    Set<Long> seen = new HashSet<>();
    long batchesWithMisses = 0;
    for (int from = 0; from < LINES; from += BATCH) {
      boolean misses = false;
      for (OrderLine line : lines.subList(from, Math.min(LINES, from + BATCH))) {
        misses |= seen.add(line.productId());
      }
      batchesWithMisses += misses ? 1 : 0;
    }
    assertThat(job.keysLoaded()).as("ids loaded: each distinct id once").isEqualTo(seen.size());
    assertThat(job.queries()).as("database queries").isPositive()
        .isLessThanOrEqualTo(batchesWithMisses);
    assertThat(seen).as("the sample has unknown ids").anyMatch(id -> id > PRODUCTS);

    long queriesAfterCold = job.queries();
    List<EnrichedLine> warm = job.enrich(OrderEnrichment.sampleLines(LINES, IDS, 7))
        .collectList().block(TIMEOUT);

    assertThat(warm).isEqualTo(cold);
    assertThat(job.queries()).as("no query when every product is cached")
        .isEqualTo(queriesAfterCold);
  }
}
