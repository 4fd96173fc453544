package dev.cacheaside.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import reactor.core.publisher.Mono;

/**
 * The Lettuce options a cache wants, and a client with them that a store makes from a URI and
 * owns: its shutdown ends with the store's. The options, and why:
 * <ul>
 *   <li>commands are rejected at once while disconnected ({@code REJECT_COMMANDS}): Lettuce's
 *       default keeps them until it has reconnected, so every read would wait for the reconnect
 *       (or its own timeout) before the database answers it;</li>
 *   <li>reconnect attempts back off from 10 ms to at most 1 s (Lettuce's default: up to 30 s), so
 *       the cache is back within a second of Redis;</li>
 *   <li>a command timeout of 1 s ({@code TimeoutOptions}; Lettuce's default is the URI's timeout,
 *       60 s) and a connect timeout of 2 s (default 10 s), so nothing waits on a Redis that stopped
 *       answering longer than the cache is worth;</li>
 *   <li>for a cluster, periodic (30 s) and adaptive topology refresh (on redirections, uncovered
 *       slots, unknown nodes and repeated reconnects), so a failover or a node that moved is
 *       followed; Lettuce's default never refreshes.</li>
 * </ul>
 */
final class OwnClient {
  static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(1);
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
  static final Duration RECONNECT_DELAY_MIN = Duration.ofMillis(10);
  static final Duration RECONNECT_DELAY_MAX = Duration.ofSeconds(1);
  static final Duration TOPOLOGY_REFRESH_PERIOD = Duration.ofSeconds(30);
  /** How long a shutdown waits for Lettuce's threads (no quiet period: nothing is left to do). */
  private static final long SHUTDOWN_TIMEOUT_SECONDS = 2;

  private final AbstractRedisClient client;
  private final ClientResources resources;

  private OwnClient(AbstractRedisClient client, ClientResources resources) {
    this.client = client;
    this.resources = resources;
  }

  static ClientOptions clientOptions() {
    return ClientOptions.builder()
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
        .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).build())
        .build();
  }

  static ClusterClientOptions clusterClientOptions() {
    return ClusterClientOptions.builder(clientOptions())
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enablePeriodicRefresh(TOPOLOGY_REFRESH_PERIOD)
            .enableAllAdaptiveRefreshTriggers()
            .build())
        .build();
  }

  static Delay reconnectDelay() {
    return Delay.exponential(RECONNECT_DELAY_MIN, RECONNECT_DELAY_MAX, 2, TimeUnit.MILLISECONDS);
  }

  /** A client of a standalone Redis (or one Sentinel manages) with the options above. */
  static OwnClient standalone(RedisURI uri) {
    ClientResources resources = resources();
    RedisClient client = RedisClient.create(resources, uri);
    client.setOptions(clientOptions());
    return new OwnClient(client, resources);
  }

  /** A client of a Redis Cluster, seeded with {@code uris}, with the options above. */
  static OwnClient cluster(List<RedisURI> uris) {
    ClientResources resources = resources();
    RedisClusterClient client = RedisClusterClient.create(resources, uris);
    client.setOptions(clusterClientOptions());
    return new OwnClient(client, resources);
  }

  private static ClientResources resources() {
    return ClientResources.builder().reconnectDelay(reconnectDelay()).build();
  }

  AbstractRedisClient client() {
    return client;
  }

  /** Whether the client's threads are shut down (or shutting down). */
  boolean isShutDown() {
    return resources.eventExecutorGroup().isShuttingDown();
  }

  /** Shuts the client and its threads down, blocking until they are. */
  void shutdown() {
    try {
      client.shutdown(0, SHUTDOWN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } finally {
      resources.shutdown(0, SHUTDOWN_TIMEOUT_SECONDS, TimeUnit.SECONDS)
          .awaitUninterruptibly(SHUTDOWN_TIMEOUT_SECONDS + 1, TimeUnit.SECONDS);
    }
  }

  /** {@link #shutdown()} without blocking: completes when the client and its threads are down. */
  Mono<Void> shutdownAsync() {
    return Mono.fromCompletionStage(() ->
            client.shutdownAsync(0, SHUTDOWN_TIMEOUT_SECONDS, TimeUnit.SECONDS))
        .onErrorResume(e -> Mono.empty())
        .then(Mono.create(sink -> resources.shutdown(0, SHUTDOWN_TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .addListener(done -> sink.success())));
  }

  @Override
  public String toString() {
    return client instanceof RedisClusterClient ? "own cluster client" : "own client";
  }
}
