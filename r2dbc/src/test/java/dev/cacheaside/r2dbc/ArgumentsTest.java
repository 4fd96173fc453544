package dev.cacheaside.r2dbc;

import dev.cacheaside.core.InvalidationRetry;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.CacheAside;
import io.r2dbc.postgresql.PostgresqlConnectionConfiguration;
import io.r2dbc.postgresql.PostgresqlConnectionFactory;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Bad input fails at once, naming the problem; no server is contacted. */
class ArgumentsTest {
  private final ConnectionFactory unused = new PostgresqlConnectionFactory(
      PostgresqlConnectionConfiguration.builder().host("127.0.0.1").username("nobody").build());
  private final CacheAside<Long, Products.Product> cache = Products.unusedCache();

  @Test
  void listenerBuilder() {
    PgInvalidationListener.Builder builder = PgInvalidationListener.builder(unused);
    assertThatThrownBy(builder::build).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("at least one table");
    assertThatThrownBy(() -> builder.channel("")).hasMessageContaining("channel");
    assertThatThrownBy(() -> builder.channel("c".repeat(64))).hasMessageContaining("63 bytes");
    assertThatThrownBy(() -> builder.table(" ", "id", Long::valueOf, cache))
        .hasMessageContaining("table");
    assertThatThrownBy(() -> builder.table("product", "c".repeat(43), Long::valueOf, cache))
        .hasMessageContaining("keyColumn");
    assertThatThrownBy(() -> builder.table("product", "id", Long::valueOf))
        .hasMessageContaining("at least one cache");
    assertThatThrownBy(() -> builder.reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessageContaining("max");
    assertThatThrownBy(() -> builder.healthCheck(Duration.ofSeconds(-1)))
        .hasMessageContaining("healthCheck");
  }

  @Test
  void triggerInstaller() {
    assertThatThrownBy(() -> PgNotifyTrigger.install(unused, "", "id", "c"))
        .hasMessageContaining("table");
    assertThatThrownBy(() -> PgNotifyTrigger.install(unused, "product", null, "c"))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("keyColumn");
    assertThatThrownBy(() -> PgNotifyTrigger.install(unused, "product", "id", "a\0b"))
        .hasMessageContaining("NUL");
  }

  @Test
  void retry() {
    assertThatThrownBy(() -> new InvalidationRetry(1, Duration.ZERO, Duration.ofMillis(1)))
        .hasMessageContaining("firstBackoff");
    assertThatThrownBy(() -> new InvalidationRetry(1, Duration.ofMillis(5), Duration.ofMillis(1)))
        .hasMessageContaining("maxBackoff");
  }
}
