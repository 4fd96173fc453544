package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/** The tests run in order: each one checks what the extension did after the one before. */
@ExtendWith(RedisExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisExtensionIT {

  private final RedisClient constructorClient;

  RedisExtensionIT(RedisClient client) {
    this.constructorClient = client;
  }

  @Test
  @Order(1)
  void resolvesServerClientAndUri(TestRedis redis, RedisClient client, RedisURI uri) {
    assertThat(redis).isSameAs(TestRedis.get());
    assertThat(client).isSameAs(redis.client()).isSameAs(constructorClient);
    assertThat(uri.getHost()).isEqualTo(redis.uri().getHost());
    assertThat(uri.getPort()).isEqualTo(redis.uri().getPort());
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      connection.sync().set("RedisExtensionIT:left-behind", "v");
    }
  }

  @Test
  @Order(2)
  void eachTest_startsWithAnEmptyServer(RedisClient client) {
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      assertThat(connection.sync().dbsize()).isZero();
    }
  }

  @Test
  @Order(3)
  void aTestMayStopTheServer(TestRedis redis) {
    assumeTrue(redis.managed(), "outage tests need a managed Redis");
    redis.stop();
  }

  @Test
  @Order(4)
  void afterAStop_theNextTestFindsItRunning(TestRedis redis) {
    assertThat(RedisServers.ping(redis.uri().getPort(), Duration.ofSeconds(1))).isTrue();
  }

  @Test
  @Order(5)
  void aTestMayFreezeTheServer(TestRedis redis) {
    assumeTrue(redis.managed(), "outage tests need a managed Redis");
    redis.freeze();
  }

  @Test
  @Order(6)
  void afterAFreeze_theNextTestFindsItAnswering(RedisClient client) {
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      connection.setTimeout(Duration.ofSeconds(1));
      assertThat(connection.sync().ping()).isEqualTo("PONG");
    }
  }
}
