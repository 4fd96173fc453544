package dev.cacheaside.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

/** Boot's spring.data.redis.* read into Lettuce's terms, without connecting. */
class LettuceClientsTest {

  private static RedisSettings settings(Map<String, String> properties) {
    return RedisSettings.bind(new Binder(new MapConfigurationPropertySource(properties)));
  }

  @Test
  void standalone_hostPortDatabaseCredentials_commandTimeoutFromBootsTimeout() {
    RedisURI uri = LettuceClients.uri(settings(Map.of("spring.data.redis.host", "cache.local",
        "spring.data.redis.port", "6390", "spring.data.redis.database", "4",
        "spring.data.redis.username", "app", "spring.data.redis.password", "secret",
        "spring.data.redis.client-name", "catalog")), Duration.ofMillis(700));

    assertThat(uri.getHost()).isEqualTo("cache.local");
    assertThat(uri.getPort()).isEqualTo(6390);
    assertThat(uri.getDatabase()).isEqualTo(4);
    assertThat(uri.getUsername()).isEqualTo("app");
    assertThat(uri.getClientName()).isEqualTo("catalog");
    assertThat(uri.getTimeout()).isEqualTo(Duration.ofMillis(700));
    assertThat(uri.isSsl()).isFalse();
  }

  @Test
  void url_winsOverHostAndPort_rediss_isSsl() {
    RedisURI uri = LettuceClients.uri(settings(Map.of("spring.data.redis.url",
        "rediss://app:secret@tls.local:6380/3", "spring.data.redis.host", "ignored")),
        Duration.ofSeconds(1));

    assertThat(uri.getHost()).isEqualTo("tls.local");
    assertThat(uri.getPort()).isEqualTo(6380);
    assertThat(uri.getDatabase()).isEqualTo(3);
    assertThat(uri.isSsl()).isTrue();
  }

  @Test
  void sentinel_masterAndNodes() {
    RedisURI uri = LettuceClients.uri(settings(Map.of("spring.data.redis.sentinel.master", "mymaster",
        "spring.data.redis.sentinel.nodes", "s1:26379,[::1]:26380",
        "spring.data.redis.sentinel.password", "sentinel-secret")), Duration.ofSeconds(1));

    assertThat(uri.getSentinelMasterId()).isEqualTo("mymaster");
    assertThat(uri.getSentinels()).extracting(RedisURI::getHost).containsExactly("s1", "::1");
    assertThat(uri.getSentinels()).extracting(RedisURI::getPort).containsExactly(26379, 26380);
  }

  @Test
  void clusterNodes_giveAClusterClient_withTopologyRefreshAndTheCacheOptions() {
    CacheAsideProperties.Redis redis = new CacheAsideProperties.Redis();
    ClientResources resources = LettuceClients.resources(redis);
    AbstractRedisClient client = LettuceClients.client(settings(Map.of(
        "spring.data.redis.cluster.nodes", "n1:7000,n2:7001",
        "spring.data.redis.cluster.max-redirects", "3",
        "spring.data.redis.lettuce.cluster.refresh.period", "30s",
        "spring.data.redis.lettuce.cluster.refresh.adaptive", "true")), redis, resources, null);
    try {
      assertThat(client).isInstanceOf(RedisClusterClient.class);
      ClusterClientOptions options = (ClusterClientOptions) ((RedisClusterClient) client).getOptions();
      assertThat(options.getMaxRedirects()).isEqualTo(3);
      assertThat(options.getTopologyRefreshOptions().isPeriodicRefreshEnabled()).isTrue();
      assertThat(options.getDisconnectedBehavior())
          .isEqualTo(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      resources.shutdown(0, 2, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void badNode_namesTheProperty() {
    assertThatThrownBy(() -> LettuceClients.uri(settings(Map.of("spring.data.redis.sentinel.master",
        "m", "spring.data.redis.sentinel.nodes", "nohost")), Duration.ofSeconds(1)))
        .hasMessageContaining("spring.data.redis.sentinel.nodes");
  }
}
