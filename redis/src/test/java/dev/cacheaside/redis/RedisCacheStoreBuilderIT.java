package dev.cacheaside.redis;

import dev.cacheaside.core.testkit.CacheStoreContract;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestRedisCluster;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * {@link RedisCacheStoreBuilder} on a real Redis: setters check their argument at once, clashes
 * fail in {@code build()}, and each way in opens (or does not open) the connections it says.
 * Whether the store listens for lease ends is read from Redis ({@code PUBSUB NUMSUB}).
 */
@ExtendWith(RedisExtension.class)
class RedisCacheStoreBuilderIT {
  private static final Duration BOUND = Duration.ofSeconds(10);

  private RedisClient client;
  private StatefulRedisConnection<String, byte[]> raw;
  private final List<StatefulRedisPubSubConnection<String, byte[]>> pubSubs = new ArrayList<>();

  @BeforeEach
  void open(RedisClient client) {
    this.client = client;
    this.raw = client.connect(RedisCacheStore.codec());
  }

  @AfterEach
  void closeConnections() {
    pubSubs.forEach(StatefulRedisPubSubConnection::close);
    raw.close();
  }

  /** A pub/sub connection of the test's, closed after it. */
  private StatefulRedisPubSubConnection<String, byte[]> pubSub() {
    StatefulRedisPubSubConnection<String, byte[]> pubSub =
        client.connectPubSub(RedisCacheStore.codec());
    pubSubs.add(pubSub);
    return pubSub;
  }

  /** How many connections are subscribed to the lease-end channel on the test server. */
  private long listeners() {
    return raw.sync().pubsubNumsub(LeaseScripts.LEASE_ENDED_CHANNEL)
        .getOrDefault(LeaseScripts.LEASE_ENDED_CHANNEL, 0L);
  }

  private void awaitListeners(long expected) {
    RedisFixture.poll(expected + " listeners on the lease-end channel", BOUND,
        () -> raw.reactive().pubsubNumsub(LeaseScripts.LEASE_ENDED_CHANNEL)
            .map(counts -> counts.getOrDefault(LeaseScripts.LEASE_ENDED_CHANNEL, 0L) == expected));
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void client_byDefault_opensAndOwnsAPubSubConnection_closedWithTheStore() {
    long before = listeners();
    RedisCacheStore store = RedisCacheStore.builder().client(client).build();
    assertThat(listeners()).as("subscribed before build() returned").isEqualTo(before + 1);
    assertThat(store.marksLeases()).isTrue();
    assertThat(store.toString()).isEqualTo("RedisCacheStore[standalone, lease-end notifications]");

    store.close();
    awaitListeners(before);
    StepVerifier.create(store.get("k")).as("get after close").verifyError();
  }

  @Test
  void client_leaseEndNotificationsFalse_opensOneConnectionOnly_andPolls() {
    long before = listeners();
    RedisCacheStore store = RedisCacheStore.builder().client(client)
        .leaseEndNotifications(false).build();
    try {
      assertThat(listeners()).as("no pub/sub connection").isEqualTo(before);
      assertThat(store.marksLeases()).isFalse();
      assertThat(store.toString()).isEqualTo("RedisCacheStore[standalone]");
      CacheStoreContract.await(store.set("k", bytes("v"), Duration.ofMinutes(1)));
      assertThat(CacheStoreContract.await(store.get("k"))).isEqualTo(bytes("v"));
    } finally {
      store.close();
    }
    StepVerifier.create(store.get("k")).as("its own connection is closed").verifyError();
  }

  @Test
  void clusterClient_leaseEndNotificationsFalse_isAClusterStore() {
    RedisClusterClient cluster = TestRedisCluster.get().client();
    try (RedisCacheStore store = RedisCacheStore.builder().client(cluster)
        .leaseEndNotifications(false).build()) {
      assertThat(store.toString()).isEqualTo("RedisCacheStore[cluster]");
      CacheStoreContract.await(store.set("k", bytes("v"), Duration.ofMinutes(1)));
      assertThat(CacheStoreContract.await(store.get("k"))).isEqualTo(bytes("v"));
    }
  }

  @Test
  void connection_withoutPubSub_pollsOnly_andCloseLeavesItOpen() {
    long before = listeners();
    RedisCacheStore store = RedisCacheStore.builder().connection(raw).build();
    assertThat(listeners()).isEqualTo(before);
    assertThat(store.marksLeases()).isFalse();
    assertThat(store.toString()).isEqualTo("RedisCacheStore[standalone, caller's connection]");
    store.close();
    assertThat(raw.isOpen()).isTrue();
  }

  @Test
  void connection_withPubSubAndLeaseEndNotificationsTrue_listensOnTheCallers() {
    StatefulRedisPubSubConnection<String, byte[]> pubSub = pubSub();
    RedisCacheStore store = RedisCacheStore.builder().connection(raw).pubSub(pubSub)
        .leaseEndNotifications(true).build();
    RedisFixture.poll("the subscription confirmed", BOUND,
        () -> Mono.fromSupplier(store::marksLeases));
    assertThat(store.toString())
        .isEqualTo("RedisCacheStore[standalone, caller's connection, lease-end notifications]");
    store.close();
    assertThat(pubSub.isOpen()).isTrue();
  }

  @Test
  void uri_makesAClientWithTheRecommendedOptions_andShutsItDownWithTheStore(TestRedis redis) {
    RedisCacheStore store = RedisCacheStore.builder().uri(redis.uri().toString()).build();
    OwnClient own = store.ownClient();
    assertThat(own).isNotNull();
    assertThat(store.toString())
        .isEqualTo("RedisCacheStore[standalone, lease-end notifications, own client]");
    CacheStoreContract.await(store.set("k", bytes("v"), Duration.ofMinutes(1)));
    assertThat(CacheStoreContract.await(store.get("k"))).isEqualTo(bytes("v"));

    // Disconnected, it rejects commands at once (Lettuce's default would hold them).
    redis.stop();
    StepVerifier.create(store.get("k"))
        .expectErrorSatisfies(e -> assertThat(e).hasMessageContaining("rejected"))
        .verify(BOUND);
    redis.start();
    RedisFixture.poll("the store to reconnect", BOUND,
        () -> store.ping().thenReturn(true).onErrorReturn(false));

    store.close();
    assertThat(own.isShutDown()).isTrue();
    StepVerifier.create(store.get("k")).as("get after close").verifyError();
  }

  @Test
  void clusterUris_makeAClusterClientWithTopologyRefresh_closedWithTheStore() {
    String[] seeds = TestRedisCluster.get().uris().stream().map(Object::toString)
        .toArray(String[]::new);
    RedisCacheStore store = RedisCacheStore.builder().clusterUris(seeds)
        .leaseEndNotifications(false).build();
    try {
      assertThat(store.toString()).isEqualTo("RedisCacheStore[cluster, own cluster client]");
      CacheStoreContract.await(store.set("k", bytes("v"), Duration.ofMinutes(1)));
      assertThat(CacheStoreContract.await(store.get("k"))).isEqualTo(bytes("v"));
    } finally {
      StepVerifier.create(store.closeAsync()).verifyComplete();
    }
    assertThat(store.ownClient().isShutDown()).isTrue();
  }

  @Test
  void uri_unreachable_buildFails() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    RedisCacheStoreBuilder builder = RedisCacheStore.builder()
        .uri("redis://127.0.0.1:" + closedPort);
    assertThatThrownBy(builder::build).isInstanceOf(RedisConnectionException.class);
  }

  @Test
  void recommendedOptions_rejectWhileDisconnected_timeCommandsOut_andRefreshClusterTopology() {
    ClientOptions options = RedisCacheStore.recommendedClientOptions();
    assertThat(options.getDisconnectedBehavior())
        .isEqualTo(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
    assertThat(options.getTimeoutOptions().isTimeoutCommands()).isTrue();
    assertThat(options.getSocketOptions().getConnectTimeout()).isEqualTo(Duration.ofSeconds(2));
    ClusterClientOptions cluster = RedisCacheStore.recommendedClusterClientOptions();
    assertThat(cluster.getDisconnectedBehavior())
        .isEqualTo(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
    assertThat(cluster.getTopologyRefreshOptions().isPeriodicRefreshEnabled()).isTrue();
    assertThat(cluster.getTopologyRefreshOptions().getAdaptiveRefreshTriggers()).isNotEmpty();
    assertThat(RedisCacheStore.recommendedReconnectDelay().createDelay(20))
        .as("capped near a second").isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void setters_rejectNullAtOnce_namingTheArgument() {
    RedisCacheStoreBuilder builder = RedisCacheStore.builder();
    assertThatThrownBy(() -> builder.client((RedisClient) null))
        .isInstanceOf(NullPointerException.class).hasMessage("client must not be null");
    assertThatThrownBy(() -> builder.client((RedisClusterClient) null))
        .isInstanceOf(NullPointerException.class).hasMessage("client must not be null");
    assertThatThrownBy(() -> builder.connection((StatefulRedisConnection<String, byte[]>) null))
        .isInstanceOf(NullPointerException.class).hasMessage("connection must not be null");
    assertThatThrownBy(() ->
            builder.connection((StatefulRedisClusterConnection<String, byte[]>) null))
        .isInstanceOf(NullPointerException.class).hasMessage("connection must not be null");
    assertThatThrownBy(() -> builder.pubSub(null))
        .isInstanceOf(NullPointerException.class).hasMessage("pubSub must not be null");
    assertThatThrownBy(() -> RedisCacheStore.create((RedisClient) null))
        .isInstanceOf(NullPointerException.class).hasMessage("client must not be null");
    assertThatThrownBy(() -> builder.uri(null))
        .isInstanceOf(NullPointerException.class).hasMessage("uri must not be null");
    assertThatThrownBy(() -> builder.uri("not a uri"))
        .as("Lettuce's check").isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.clusterUris())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("clusterUris needs at least one seed URI");
    assertThatThrownBy(() -> builder.clusterUris("redis://127.0.0.1:1", null))
        .isInstanceOf(NullPointerException.class).hasMessage("a seed URI must not be null");
  }

  @Test
  void setters_setTwice_failAtOnce_namingTheFirstValue() {
    StatefulRedisPubSubConnection<String, byte[]> pubSub = pubSub();
    RedisCacheStoreBuilder builder = RedisCacheStore.builder().client(client).connection(raw)
        .pubSub(pubSub).leaseEndNotifications(false);
    assertThatThrownBy(() -> builder.client(client))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("client was already set to " + client);
    assertThatThrownBy(() -> builder.connection(raw))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("connection was already set to " + raw);
    assertThatThrownBy(() -> builder.pubSub(pubSub))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("pubSub was already set to " + pubSub);
    assertThatThrownBy(() -> builder.leaseEndNotifications(true))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("leaseEndNotifications was already set to false");
  }

  @Test
  void build_withNeitherOrBothWaysIn_fails_andOpensNothing() {
    long before = listeners();
    assertThatThrownBy(() -> RedisCacheStore.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("uri(...), clusterUris(...), client(...) or connection(...) is required");
    assertThatThrownBy(() -> RedisCacheStore.builder().client(client).connection(raw).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("set one way to reach Redis, not 2");
    assertThatThrownBy(() -> RedisCacheStore.builder().uri(TestRedis.get().uri().toString())
            .client(client).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("set one way to reach Redis, not 2");
    assertThat(listeners()).isEqualTo(before);
  }

  @Test
  void build_leaseEndOptionsThatClash_fail() {
    StatefulRedisPubSubConnection<String, byte[]> pubSub = pubSub();
    assertThatThrownBy(() -> RedisCacheStore.builder().client(client).pubSub(pubSub).build())
        .as("a client opens its own").isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("pubSub(...) goes with connection(...) only");
    assertThatThrownBy(() -> RedisCacheStore.builder().uri(TestRedis.get().uri().toString())
            .pubSub(pubSub).build())
        .as("so does a URI").isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("pubSub(...) goes with connection(...) only");
    assertThatThrownBy(() -> RedisCacheStore.builder().connection(raw).pubSub(pubSub)
            .leaseEndNotifications(false).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("leaseEndNotifications(false) clashes with pubSub(...)");
    assertThatThrownBy(() -> RedisCacheStore.builder().connection(raw)
            .leaseEndNotifications(true).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("leaseEndNotifications(true) on a connection of the caller's "
            + "needs pubSub(...)");
  }
}
