package dev.cacheaside.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.reactive.RedisClusterReactiveCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * A {@link RedisCacheStore} under test plus a connection of the test's own to look at Redis
 * directly (TTLs, raw bytes, script cache, which node holds a key). The store opens its own
 * connection ({@code create(client)}), as an application would.
 */
final class RedisFixture implements AutoCloseable {
  final Topology topology;
  final RedisCacheStore store;
  /** Blocking commands for the test thread only; never call them on a Reactor thread. */
  final RedisClusterCommands<String, byte[]> raw;
  /** The same connection, reactive: for probes that run on Reactor threads. */
  final RedisClusterReactiveCommands<String, byte[]> rawReactive;
  private final StatefulConnection<String, byte[]> rawConnection;
  private final @Nullable StatefulRedisClusterConnection<String, byte[]> clusterConnection;

  private RedisFixture(Topology topology, RedisCacheStore store,
      StatefulConnection<String, byte[]> rawConnection, RedisClusterCommands<String, byte[]> raw,
      RedisClusterReactiveCommands<String, byte[]> rawReactive,
      @Nullable StatefulRedisClusterConnection<String, byte[]> clusterConnection) {
    this.topology = topology;
    this.store = store;
    this.rawConnection = rawConnection;
    this.raw = raw;
    this.rawReactive = rawReactive;
    this.clusterConnection = clusterConnection;
  }

  /**
   * A store on {@code client}'s own connections, as an application creates one: the one place the
   * tests that do not test a way of creating a store create one.
   */
  static RedisCacheStore storeOn(RedisClient client) {
    return RedisCacheStore.create(client);
  }

  /** A store on {@code client}'s own connections: see {@link #storeOn(RedisClient)}. */
  static RedisCacheStore storeOn(RedisClusterClient client) {
    return RedisCacheStore.create(client);
  }

  static RedisFixture standalone(RedisClient client) {
    StatefulRedisConnection<String, byte[]> connection = client.connect(RedisCacheStore.codec());
    return new RedisFixture(Topology.STANDALONE, storeOn(client), connection,
        connection.sync(), connection.reactive(), null);
  }

  static RedisFixture cluster(RedisClusterClient client) {
    StatefulRedisClusterConnection<String, byte[]> connection =
        client.connect(RedisCacheStore.codec());
    return new RedisFixture(Topology.CLUSTER, storeOn(client), connection,
        connection.sync(), connection.reactive(), connection);
  }

  /** Deletes every key on the server or on every master: what a flush or a restart loses. */
  void flushAll() {
    switch (topology) {
      case STANDALONE -> dev.cacheaside.testing.TestRedis.get().flushAll();
      case CLUSTER -> dev.cacheaside.testing.TestRedisCluster.get().flushAll();
    }
  }

  /** The masters, each with the commands of a direct connection to it (cluster only). */
  List<RedisClusterNode> masters() {
    if (clusterConnection == null) {
      throw new IllegalStateException("not a cluster");
    }
    return clusterConnection.getPartitions().stream()
        .filter(node -> node.is(RedisClusterNode.NodeFlag.UPSTREAM))
        .toList();
  }

  /** The master that serves {@code redisKey}'s slot (cluster only). */
  RedisClusterNode masterOf(String redisKey) {
    if (clusterConnection == null) {
      throw new IllegalStateException("not a cluster");
    }
    return clusterConnection.getPartitions().getMasterBySlot(SlotHash.getSlot(redisKey));
  }

  /**
   * Blocking commands on the server that holds {@code redisKey}: the only server in standalone,
   * a direct (never redirected) connection to the slot's master in a cluster.
   */
  RedisClusterCommands<String, byte[]> serverOf(String redisKey) {
    if (clusterConnection == null) {
      return raw;
    }
    return node(masterOf(redisKey));
  }

  /** Blocking commands on one cluster node, by a direct connection. */
  RedisClusterCommands<String, byte[]> node(RedisClusterNode node) {
    if (clusterConnection == null) {
      throw new IllegalStateException("not a cluster");
    }
    return clusterConnection.getConnection(node.getNodeId()).sync();
  }

  /** Every server: the one in standalone, each master in a cluster. */
  List<RedisClusterCommands<String, byte[]>> servers() {
    if (clusterConnection == null) {
      return List.of(raw);
    }
    return masters().stream().map(this::node).toList();
  }

  /** The value of {@code field} in the INFO {@code section} of one server, or 0. */
  static long infoCount(RedisClusterCommands<String, byte[]> server, String section,
      String line, String field) {
    for (String row : server.info(section).split("\r?\n")) {
      if (row.startsWith(line + ":")) {
        for (String pair : row.substring(line.length() + 1).split(",")) {
          String[] kv = pair.split("=", 2);
          if (kv[0].equals(field)) {
            return Long.parseLong(kv[1]);
          }
        }
      }
    }
    return 0;
  }

  /** Calls of {@code command} summed over every server since the last {@link #resetStats()}. */
  long calls(String command) {
    return servers().stream()
        .mapToLong(s -> infoCount(s, "commandstats", "cmdstat_" + command, "calls"))
        .sum();
  }

  void resetStats() {
    servers().forEach(RedisClusterCommands::configResetstat);
  }

  /**
   * Waits until {@code probe} emits true, probing every 10 ms, for at most {@code bound}. The
   * probe must be non-blocking: it runs again on a Reactor timer thread.
   */
  static void poll(String what, Duration bound, Supplier<Mono<Boolean>> probe) {
    try {
      Mono.defer(probe)
          .filter(Boolean::booleanValue)
          .repeatWhenEmpty(repeats -> repeats.delayElements(Duration.ofMillis(10)))
          .timeout(bound)
          .block();
    } catch (RuntimeException e) {
      if (e.getCause() instanceof TimeoutException || e instanceof IllegalStateException) {
        throw new AssertionError(what + " did not happen within " + bound, e);
      }
      throw e;
    }
  }

  /** Waits until {@code redisKey} no longer exists (it expired), for at most {@code bound}. */
  void awaitGone(String redisKey, Duration bound) {
    poll(redisKey + " expiring", bound, () -> rawReactive.exists(redisKey).map(n -> n == 0));
  }

  @Override
  public void close() {
    rawConnection.close();
    store.close();
  }

  /** The two kinds of deployment every Redis test runs against. */
  enum Topology {
    STANDALONE,
    CLUSTER;

    /**
     * A store on the JVM's test server of this kind, on connections of its own, as an
     * application instance opens it. The caller closes it.
     */
    RedisCacheStore newStore() {
      return switch (this) {
        case STANDALONE -> storeOn(dev.cacheaside.testing.TestRedis.get().client());
        case CLUSTER -> storeOn(dev.cacheaside.testing.TestRedisCluster.get().client());
      };
    }

    /** A fixture on the JVM's test server, emptied first. */
    RedisFixture open() {
      return switch (this) {
        case STANDALONE -> {
          dev.cacheaside.testing.TestRedis redis = dev.cacheaside.testing.TestRedis.get();
          redis.flushAll();
          yield standalone(redis.client());
        }
        case CLUSTER -> {
          dev.cacheaside.testing.TestRedisCluster cluster =
              dev.cacheaside.testing.TestRedisCluster.get();
          cluster.flushAll();
          yield cluster(cluster.client());
        }
      };
    }
  }
}
