package dev.cacheaside.redis;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.util.Objects;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Configures a {@link RedisCacheStore}; obtain one with {@link RedisCacheStore#builder()}. Each
 * setter checks its argument at once and names a bad value, and an option set twice fails at
 * once; options that clash fail in {@link #build()}.
 *
 * <p>Exactly one of the two ways to reach Redis must be given:
 * <ul>
 *   <li>{@link #client(RedisClient) client(...)}: the store opens its connections with the
 *       client, owns them ({@link RedisCacheStore#close()} closes them) and, by default, listens
 *       for lease ends on a second, pub/sub, connection. {@link #build()} blocks until they are
 *       open;</li>
 *   <li>{@link #connection(StatefulRedisConnection) connection(...)}: the store runs on a
 *       connection the caller opened and keeps (closing the store leaves it open), and listens for
 *       lease ends only on a pub/sub connection the caller gives with {@link #pubSub}.
 *       {@link #build()} does not block.</li>
 * </ul>
 *
 * <pre>{@code
 * RedisCacheStore store = RedisCacheStore.builder()
 *     .client(redisClient)                  // or a RedisClusterClient
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
  // One field per way to reach Redis, so that build() can tell a clash from a choice; a later
  // way in (a URI from which the store makes its own client) is one more such field.
  private @Nullable AbstractRedisClient client;
  private @Nullable StatefulConnection<String, byte[]> connection;
  private @Nullable StatefulRedisPubSubConnection<String, byte[]> pubSub;
  /** Null until set: its default depends on the way in (see {@link #leaseEndNotifications}). */
  private @Nullable Boolean leaseEndNotifications;

  RedisCacheStoreBuilder() {}

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
   * Builds the store. With a client this opens the connections and subscribes to the lease-end
   * channel, blocking the calling thread until Redis answered: call it when the application
   * starts, not on an event loop. With a connection it does not block.
   *
   * @throws IllegalStateException if neither or both of a client and a connection were given, or
   *     options clash (a {@code pubSub} with a client, or against
   *     {@code leaseEndNotifications})
   * @throws io.lettuce.core.RedisConnectionException if a client cannot reach Redis (nothing is
   *     left open then)
   */
  public RedisCacheStore build() {
    if (client != null && connection != null) {
      throw new IllegalStateException("client(...) and connection(...) were both set; give one: "
          + "with a client the store opens and owns its connections");
    }
    if (client != null) {
      if (pubSub != null) {
        throw new IllegalStateException("pubSub(...) goes with connection(...) only: with a "
            + "client the store opens its own pub/sub connection (leaseEndNotifications(false): "
            + "none)");
      }
      return open(client, leaseEndNotifications == null || leaseEndNotifications);
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
          pubSub == null ? LeaseEnds.none() : LeaseEnds.onCallers(pubSub));
    }
    throw new IllegalStateException("client(...) or connection(...) is required");
  }

  /**
   * Opens the command connection, then (if {@code listen}) the pub/sub one; if the second fails,
   * closes the first, so a failed build leaves nothing open.
   */
  private static RedisCacheStore open(AbstractRedisClient client, boolean listen) {
    StatefulConnection<String, byte[]> commands;
    Supplier<StatefulRedisPubSubConnection<String, byte[]>> pubSub;
    if (client instanceof RedisClusterClient cluster) {
      commands = cluster.connect(RedisCacheStore.codec());
      pubSub = () -> cluster.connectPubSub(RedisCacheStore.codec());
    } else {
      RedisClient standalone = (RedisClient) client;
      commands = standalone.connect(RedisCacheStore.codec());
      pubSub = () -> standalone.connectPubSub(RedisCacheStore.codec());
    }
    try {
      return new RedisCacheStore(commands, true,
          listen ? LeaseEnds.openBlocking(pubSub) : LeaseEnds.none());
    } catch (RuntimeException e) {
      commands.close();
      throw e;
    }
  }
}
