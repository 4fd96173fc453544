package dev.cacheaside.r2dbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.Test;

/** The meters exist with their tags and read the live counters; no server is contacted. */
class R2dbcCacheMetricsTest {
  private final ConnectionFactory unused = new PostgresqlConnectionFactory(
      PostgresqlConnectionConfiguration.builder().host("127.0.0.1").username("nobody").build());

  @Test
  void transactionalWrites_meters() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    R2dbcCacheMetrics.of(TransactionalWrites.create(unused), Tags.of("app", "shop"))
        .bindTo(registry);

    assertThat(registry.get("cache.tx.commits").tag("app", "shop").functionCounter().count())
        .isZero();
    assertThat(registry.get("cache.tx.invalidation.failures").functionCounter().count()).isZero();
    assertThat(registry.getMeters()).hasSize(4);
  }

  @Test
  void listener_meters_taggedWithTheChannel() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CacheAside<Long, Products.Product> cache = Products.unusedCache();
    PgInvalidationListener listener = PgInvalidationListener.builder(unused).channel("orders")
        .table("product", "id", Long::valueOf, cache).build();

    R2dbcCacheMetrics.of(listener).bindTo(registry);

    assertThat(registry.get("cache.pg.listening").tag("channel", "orders").gauge().value())
        .isZero();
    assertThat(registry.get("cache.pg.notifications").tag("result", "ignored").functionCounter()
        .count()).isZero();
    assertThat(registry.getMeters()).hasSize(7);
  }
}
