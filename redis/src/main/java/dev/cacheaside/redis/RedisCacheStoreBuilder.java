package dev.cacheaside.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Configures a {@link RedisCacheStore}; obtain one with {@link RedisCacheStore#builder()}. Each
 * setter checks its argument at once and names a bad value, and an option set twice fails at
 * once; options that clash fail in {@link #build()}.
 *
 * <p>Exactly one of the ways to reach Redis must be given:
 * <ul>
 *   <li>{@link #uri(String) uri(...)} or {@link #clusterUris(String...) clusterUris(...)}: the
 *       store makes its own Lettuce client with the recommended options
 *       ({@link RedisCacheStore#recommendedClientOptions()}: commands rejected while
 *       disconnected, reconnects within 1 s, a 1 s command timeout; topology refresh for a
 *       cluster), opens its connections and owns all of it: {@link RedisCacheStore#close()} shuts
 *       the client down. {@link #build()} blocks until connected;</li>
 *   <li>{@link #client(RedisClient) client(...)}: the store opens its connections with the
 *       caller's client (and its options), owns them ({@link RedisCacheStore#close()} closes them)
 *       and, by default, listens for lease ends on a second, pub/sub, connection. The client stays
 *       the caller's to shut down. {@link #build()} blocks until connected;</li>
 *   <li>{@link #connection(StatefulRedisConnection) connection(...)}: the store runs on a
 *       connection the caller opened and keeps (closing the store leaves it open), and listens for
 *       lease ends only on a pub/sub connection the caller gives with {@link #pubSub}.
 *       {@link #build()} does not block.</li>
 * </ul>
 *
 * <pre>{@code
 * RedisCacheStore store = RedisCacheStore.builder()
 *     .uri("redis://localhost:6379")        // or .clusterUris("redis://a:7000", "redis://b:7000")
 *     .build();                             // blocks until connected
 *
 * RedisCacheStore onMine = RedisCacheStore.builder()
 *     .connection(redisClient.connect(RedisCacheStore.codec()))
 *     .pubSub(redisClient.connectPubSub(RedisCacheStore.codec()))   // optional
 *     .build();                             // does not block
 * }</pre>
 *
 * @since 0.1
 */
public final class RedisCacheStoreBuilder {
  // One field per way to reach Redis, so that build() can tell a clash from a choice.
  private @Nullable RedisURI uri;
  private @Nullable List<RedisURI> clusterUris;
  private @Nullable AbstractRedisClient client;
  private @Nullable StatefulConnection<String, byte[]> connection;
  private @Nullable StatefulRedisPubSubConnection<String, byte[]> pubSub;
  /** Null until set: its default depends on the way in (see {@link #leaseEndNotifications}). */
  private @Nullable Boolean leaseEndNotifications;

  RedisCacheStoreBuilder() {}

  /**
   * The store makes its own Lettuce client of the standalone Redis, or the Redis managed by
   * Sentinel ({@code redis-sentinel://...}), at {@code uri}, with the recommended options
   * ({@link RedisCacheStore#recommendedClientOptions()}, {@link
   * RedisCacheStore#recommendedReconnectDelay()}), and shuts it down when it is closed. Any
   * {@code timeout} in the URI is left to the URI's own uses (connecting, Sentinel): commands
   * time out after 1 s. Not with another way to reach Redis.
   *
   * @param uri a Redis URI, e.g. {@code redis://localhost:6379/0} or
   *     {@code rediss://user:secret@cache.example.com:6380}
   * @throws NullPointerException if {@code uri} is null
   * @throws IllegalArgumentException if it is not a Redis URI (Lettuce's message)
   * @throws IllegalStateException if a URI was already set
   */
  public RedisCacheStoreBuilder uri(String uri) {
    Objects.requireNonNull(uri, "uri must not be null");
    this.uri = once(this.uri, RedisURI.create(uri), "uri");
    return this;
  }

  /**
   * The store makes its own Lettuce client of the Redis Cluster that {@code seeds} belong to (one
   * is enough; more let it start while one is down), with the recommended options
   * ({@link RedisCacheStore#recommendedClusterClientOptions()}: those of a standalone client, and
   * periodic and adaptive topology refresh), and shuts it down when it is closed. Not with
   * another way to reach Redis.
   *
   * @param seeds Redis URIs of cluster nodes, e.g. {@code redis://10.0.0.1:7000}
   * @throws NullPointerException if {@code seeds} or one of them is null
   * @throws IllegalArgumentException if none is given, or one is not a Redis URI
   * @throws IllegalStateException if cluster URIs were already set
   */
  public RedisCacheStoreBuilder clusterUris(String... seeds) {
    Objects.requireNonNull(seeds, "seeds must not be null");
    if (seeds.length == 0) {
      throw new IllegalArgumentException("clusterUris needs at least one seed URI");
    }
    List<RedisURI> parsed = new ArrayList<>(seeds.length);
    for (String seed : seeds) {
      parsed.add(RedisURI.create(Objects.requireNonNull(seed, "a seed URI must not be null")));
    }
    this.clusterUris = once(this.clusterUris, List.copyOf(parsed), "clusterUris");
    return this;
  }

  /**
   * The store opens its connections to a standalone Redis, or to one managed by Sentinel (a
   * {@code redis-sentinel://} URI), with {@code client} when it is built, and closes them when it
   * is closed. The client itself stays the caller's to shut down. Not with
   * {@link #connection(StatefulRedisConnection) connection(...)}.
   *
   * @throws NullPointerException if {@code client} is null
   * @throws IllegalStateException if a client was already set
   */
  public RedisCacheStoreBuilder client(RedisClient client) {
    this.client = once(this.client, client, "client");
    return this;
  }

  /**
   * The store opens its connections to a Redis Cluster with {@code client} when it is built, and
   * closes them when it is closed. Lettuce follows the cluster's topology (and its
   * {@code MOVED}/{@code ASK} redirections) as the client's options say. The lease-end pub/sub
   * connection goes to one node: Redis Cluster carries published messages to every node. Not with
   * {@link #connection(StatefulRedisClusterConnection) connection(...)}.
   *
   * @throws NullPointerException if {@code client} is null
   * @throws IllegalStateException if a client was already set
   */
  public RedisCacheStoreBuilder client(RedisClusterClient client) {
    this.client = once(this.client, client, "client");
    return this;
  }

  /**
   * The store runs on {@code connection}, which the caller opened and keeps:
   * {@link RedisCacheStore#close()} leaves it open. Open it with {@link RedisCacheStore#codec()},
   * e.g. {@code client.connect(RedisCacheStore.codec())}; a master/replica connection
   * ({@code MasterReplica.connect}) works too. Not with {@link #client(RedisClient) client(...)}.
   *
   * @throws NullPointerException if {@code connection} is null
   * @throws IllegalStateException if a connection was already set
   */
  public RedisCacheStoreBuilder connection(StatefulRedisConnection<String, byte[]> connection) {
    this.connection = once(this.connection, connection, "connection");
    return this;
  }

  /**
   * The store runs on {@code connection} to a Redis Cluster, which the caller opened (with
   * {@link RedisCacheStore#codec()}) and keeps: {@link RedisCacheStore#close()} leaves it open.
   * Not with {@link #client(RedisClusterClient) client(...)}.
   *
   * @throws NullPointerException if {@code connection} is null
   * @throws IllegalStateException if a connection was already set
   */
  public RedisCacheStoreBuilder connection(
      StatefulRedisClusterConnection<String, byte[]> connection) {
    this.connection = once(this.connection, connection, "connection");
    return this;
  }

  /**
   * Lease-end notifications on the caller's pub/sub connection (opened with
   * {@link RedisCacheStore#codec()}, e.g. {@code client.connectPubSub(RedisCacheStore.codec())};
   * for a cluster, a cluster pub/sub connection or a plain one to any node, since the cluster
   * carries published messages to every node). The store adds a listener to it and subscribes it
   * to the lease-end channel without waiting for Redis to confirm: until then, and for good if
   * the subscription fails, its waiters only poll. {@link RedisCacheStore#close()} leaves it open
   * and removes the listener, but does not unsubscribe, since other users of the connection may
   * listen on the channel too. Only with {@link #connection(StatefulRedisConnection)
   * connection(...)}: with a client the store opens its own.
   *
   * @throws NullPointerException if {@code pubSub} is null
   * @throws IllegalStateException if a pub/sub connection was already set
   */
  public RedisCacheStoreBuilder pubSub(StatefulRedisPubSubConnection<String, byte[]> pubSub) {
    this.pubSub = once(this.pubSub, pubSub, "pubSub");
    return this;
  }

  /**
   * Whether callers waiting for another instance's load hear at once when it ends, rather than at
   * their next backoff step (see "Waiting for another instance's load" in {@link RedisCacheStore}).
   * {@code false} leaves waiters to poll only, and the store holds no pub/sub connection.
   *
   * <p>Default: with a client, {@code true}, and the store opens a pub/sub connection for them;
   * with a connection, {@code true} exactly when {@link #pubSub} is given. {@code true} with a
   * connection but no {@code pubSub}, or {@code false} with a {@code pubSub}, clash in
   * {@link #build()}.
   *
   * @throws IllegalStateException if it was already set
   */
  public RedisCacheStoreBuilder leaseEndNotifications(boolean enabled) {
    this.leaseEndNotifications = once(leaseEndNotifications, enabled, "leaseEndNotifications");
    return this;
  }

  /** {@code value}, checked: not null, and {@code what} not set before (its {@code current}). */
  private static <T> T once(@Nullable T current, T value, String what) {
    Objects.requireNonNull(value, what + " must not be null");
    if (current != null) {
      throw new IllegalStateException(what + " was already set to " + current);
    }
    return value;
  }

  /**
   * Builds the store. With a URI or a client this opens the connections and subscribes to the
   * lease-end channel, blocking the calling thread until Redis answered: call it when the
   * application starts, not on an event loop. With a connection it does not block.
   *
   * @throws IllegalStateException if no way or more than one way to reach Redis was given (a
   *     URI, cluster URIs, a client, a connection), or options clash (a {@code pubSub} without a
   *     connection, or against {@code leaseEndNotifications})
   * @throws io.lettuce.core.RedisConnectionException if Redis cannot be reached (nothing is left
   *     open then, and a client made from a URI is shut down)
   */
  public RedisCacheStore build() {
    int ways = (uri != null ? 1 : 0) + (clusterUris != null ? 1 : 0) + (client != null ? 1 : 0)
        + (connection != null ? 1 : 0);
    if (ways > 1) {
      throw new IllegalStateException("set one way to reach Redis, not " + ways + ": "
          + "uri(...), clusterUris(...) (the store makes its own client), client(...) (the store "
          + "opens its connections) or connection(...)");
    }
    if (pubSub != null && connection == null) {
      throw new IllegalStateException("pubSub(...) goes with connection(...) only: with a "
          + "client or a URI the store opens its own pub/sub connection "
          + "(leaseEndNotifications(false): none)");
    }
    boolean listen = leaseEndNotifications == null || leaseEndNotifications;
    if (uri != null || clusterUris != null) {
      OwnClient own = uri != null ? OwnClient.standalone(uri) : OwnClient.cluster(clusterUris);
      try {
        return open(own.client(), listen, own);
      } catch (RuntimeException e) {
        own.shutdown();
        throw e;
      }
    }
    if (client != null) {
      return open(client, listen, null);
    }
    if (connection != null) {
      if (Boolean.FALSE.equals(leaseEndNotifications) && pubSub != null) {
        throw new IllegalStateException("leaseEndNotifications(false) clashes with pubSub(...)");
      }
      if (Boolean.TRUE.equals(leaseEndNotifications) && pubSub == null) {
        throw new IllegalStateException("leaseEndNotifications(true) on a connection of the "
            + "caller's needs pubSub(...), the pub/sub connection to listen on");
      }
      return new RedisCacheStore(connection, false,
          pubSub == null ? LeaseEnds.none() : LeaseEnds.onCallers(pubSub), null);
    }
    throw new IllegalStateException(
        "uri(...), clusterUris(...), client(...) or connection(...) is required");
  }

  /**
   * Opens the command connection, then (if {@code listen}) the pub/sub one; if the second fails,
   * closes the first, so a failed build leaves nothing open.
   */
  /**
   * Opens the connection to every master now. Lettuce opens a node's connection on the first
   * command for it, and a client that rejects commands while disconnected (as recommended)
   * rejects that command too, while the connection is still being opened: without this, the first
   * read of each node's keys would fail.
   */
  private static void connectToEveryMaster(
      StatefulRedisClusterConnection<String, byte[]> connection) {
    for (RedisClusterNode node : connection.getPartitions()) {
      if (node.is(RedisClusterNode.NodeFlag.UPSTREAM)) {
        connection.getConnection(node.getUri().getHost(), node.getUri().getPort());
      }
    }
  }

  private static RedisCacheStore open(AbstractRedisClient client, boolean listen,
      @Nullable OwnClient own) {
    StatefulConnection<String, byte[]> commands;
    Supplier<StatefulRedisPubSubConnection<String, byte[]>> pubSub;
    if (client instanceof RedisClusterClient cluster) {
      StatefulRedisClusterConnection<String, byte[]> onCluster =
          cluster.connect(RedisCacheStore.codec());
      commands = onCluster;
      pubSub = () -> cluster.connectPubSub(RedisCacheStore.codec());
      try {
        connectToEveryMaster(onCluster);
      } catch (RuntimeException e) {
        commands.close();
        throw e;
      }
    } else {
      RedisClient standalone = (RedisClient) client;
      commands = standalone.connect(RedisCacheStore.codec());
      pubSub = () -> standalone.connectPubSub(RedisCacheStore.codec());
    }
    try {
      return new RedisCacheStore(commands, true,
          listen ? LeaseEnds.openBlocking(pubSub) : LeaseEnds.none(), own);
    } catch (RuntimeException e) {
      commands.close();
      throw e;
    }
  }
}
