package dev.cacheaside.examples.catalog;

import static dev.cacheaside.examples.catalog.CatalogFixture.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.WarmProgress;
import dev.cacheaside.testing.RealServers;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.Test;

/**
 * What {@link CatalogServer#main} does before it serves: the hottest products warmed through the
 * bulk loader into Redis. Hits are not counted here: the catalog's store turns a Redis read slower
 * than its time limit into a miss, which a machine busy with other builds can cause; what Redis
 * holds after the warm is checked instead.
 */
@RealServers
class CatalogWarmIT {
  @Test
  void hottestProductsWarmed_intoRedis_thenServed(RedisClient redis, ConnectionFactory db) {
    try (CatalogFixture fixture = CatalogFixture.create(redis, db);
        StatefulRedisConnection<String, String> raw = redis.connect()) {
      Catalog catalog = fixture.catalog();

      WarmProgress warmed = catalog.warm(ProductTable.hottest(fixture.pool(), 100)).block(TIMEOUT);

      assertThat(warmed).isEqualTo(new WarmProgress(100, 0, 0, 0));
      // Read from Redis itself (the cache's own calls go through its breaker).
      assertThat(raw.sync().keys("ca:{products:*}")).as("the entries in Redis").hasSize(100)
          .allSatisfy(key -> assertThat(Long.parseLong(
              key.substring(key.lastIndexOf(':') + 1, key.length() - 1))).isBetween(1L, 100L));
      for (long id : new long[] {1, 42, 100, 150}) {
        Catalog.Reply reply = catalog.get(Long.toString(id)).block(TIMEOUT);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.text()).contains(ProductTable.seeded(id).name());
      }
    }
  }
}
