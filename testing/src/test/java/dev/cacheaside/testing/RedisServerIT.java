package dev.cacheaside.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.retry.Retry;

class RedisServerIT {

  private final TestRedis redis = TestRedis.get();

  @AfterEach
  void restore() {
    redis.restore();
  }

  @Test
  void get_startsOneServer_thatAnswers() {
    assertThat(TestRedis.get()).as("one per JVM").isSameAs(redis);
    assertThat(redis.version()).matches("\\d+\\.\\d+.*");
    try (StatefulRedisConnection<String, String> connection = redis.client().connect()) {
      if (redis.managed()) {
        assertThat(redis.uri().getHost()).isEqualTo("127.0.0.1");
        assertThat(connection.sync().configGet("save")).as("no snapshots").containsEntry("save", "");
        assertThat(connection.sync().configGet("appendonly")).as("no AOF").containsEntry("appendonly", "no");
      }
      assertThat(connection.sync().ping()).isEqualTo("PONG");
      connection.sync().set("RedisServerIT:k", "v");
      assertThat(connection.sync().get("RedisServerIT:k")).isEqualTo("v");
    }
  }

  @Test
  void uri_isACopy() {
    redis.uri().setPort(1);
    assertThat(redis.uri().getPort()).isNotEqualTo(1);
  }

  @Test
  void flushAll_deletesEveryKey() {
    try (StatefulRedisConnection<String, String> connection = redis.client().connect()) {
      connection.sync().set("RedisServerIT:flush", "v");
      redis.flushAll();
      assertThat(connection.sync().dbsize()).isZero();
    }
  }

  @Test
  void stop_refusesConnectionsAndFailsCommands_start_answersOnTheSamePort() {
    assumeTrue(redis.managed(), "outage tests need a managed Redis");
    int port = redis.uri().getPort();
    try (StatefulRedisConnection<String, String> open = redis.client().connect()) {
      open.setTimeout(Duration.ofMillis(200));
      open.sync().set("RedisServerIT:gone", "v");

      redis.stop();

      assertThatThrownBy(() -> redis.client().connect()).isInstanceOf(RedisConnectionException.class);
      StepVerifier.create(open.reactive().ping())
          .as("a command on a connection opened before the stop")
          .expectError()
          .verify(Duration.ofSeconds(5));

      redis.start();

      assertThat(redis.uri().getPort()).isEqualTo(port);
      try (StatefulRedisConnection<String, String> fresh = redis.client().connect()) {
        assertThat(fresh.sync().ping()).isEqualTo("PONG");
        assertThat(fresh.sync().get("RedisServerIT:gone")).as("nothing is persisted").isNull();
      }
      StepVerifier.create(Mono.defer(() -> open.reactive().ping())
              .retryWhen(Retry.fixedDelay(200, Duration.ofMillis(50))))
          .as("the old connection reconnects by itself")
          .expectNext("PONG")
          .expectComplete()
          .verify(Duration.ofSeconds(30));
    }
  }

  @Test
  void freeze_timesOutCommands_thaw_answersAgain() {
    assumeTrue(redis.managed(), "outage tests need a managed Redis");
    try (StatefulRedisConnection<String, String> connection = redis.client().connect()) {
      connection.setTimeout(Duration.ofMillis(200));

      redis.freeze();

      StepVerifier.create(connection.reactive().ping())
          .as("PING with a 200 ms timeout to a frozen server")
          .expectError(RedisCommandTimeoutException.class)
          .verify(Duration.ofSeconds(5));

      redis.thaw();

      StepVerifier.create(connection.reactive().ping())
          .as("PING on the same connection after thaw")
          .expectNext("PONG")
          .expectComplete()
          .verify(Duration.ofSeconds(5));
    }
  }

  @Test
  void restore_thawsAFrozenServer_andStartsAStoppedOne() {
    assumeTrue(redis.managed(), "outage tests need a managed Redis");
    redis.freeze();
    redis.restore();
    assertThat(RedisServers.ping(redis.uri().getPort(), Duration.ofSeconds(1))).as("answers after a frozen restore").isTrue();

    redis.stop();
    redis.restore();
    assertThat(RedisServers.ping(redis.uri().getPort(), Duration.ofSeconds(1))).as("answers after a stopped restore").isTrue();
  }

  @Test
  void externalServer_cannotBeStoppedOrFrozen_andRestoreDoesNothing() {
    TestRedis external = TestRedis.connectTo(redis.uri());

    assertThat(external.managed()).isFalse();
    assertThatThrownBy(external::stop).isInstanceOf(IllegalStateException.class).hasMessageContaining(TestRedis.URI_ENV);
    assertThatThrownBy(external::freeze).isInstanceOf(IllegalStateException.class);
    external.restore();
    external.flushAll();
    assertThat(external.version()).isEqualTo(redis.version());
  }
}
