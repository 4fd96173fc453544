package dev.cacheaside.redis;

import dev.cacheaside.core.spi.InvalidationListener;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A {@link RedisCacheStore}'s invalidation stream, for near caches: the subscription to
 * {@link #CHANNEL} on the store's pub/sub connection, the decoding of its messages, and whether
 * the stream is whole.
 *
 * <p>Every store publishes on {@link #CHANNEL}, inside the scripts that change entries, so the
 * announcement is atomic with the change: a delete ({@code DEL} of value and lease), a
 * {@code setIfLeased} that replaced a value, a generation bump. A message is the concatenation
 * of the value keys changed (<code>ca:{E(k)}</code>) or a generation key
 * (<code>ca:g:{E(n)}</code>); {@code E} leaves no <code>}</code> inside, so each key ends at its
 * first <code>}</code>, and {@link RedisKeyLayout#unescape} gives the store key back.
 *
 * <p>Redis pub/sub is at most once and only while subscribed, so the stream is whole only from
 * Redis's confirmation of the subscription ({@code subscribed}) until the connection drops
 * ({@code onRedisDisconnected}, called on the event loop as the channel goes inactive, before
 * any reply of a reconnected connection) or the channel is unsubscribed. Listeners hear
 * {@code lost} and {@code restored} at those moments; Lettuce subscribes again by itself after
 * a reconnect. The subscription is sent when the first listener registers, so a store no near
 * cache listens to receives nothing.
 */
final class Invalidations extends RedisPubSubAdapter<String, byte[]>
    implements RedisConnectionStateListener {
  private static final Logger LOG = Loggers.getLogger(Invalidations.class);

  /** The channel of entry changes. */
  static final String CHANNEL = "cache-aside:invalidated";

  private final StatefulRedisPubSubConnection<String, byte[]> connection;
  private final List<InvalidationListener> listeners = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();
  private boolean up;
  private boolean subscribing;

  Invalidations(StatefulRedisPubSubConnection<String, byte[]> connection) {
    this.connection = connection;
  }

  /**
   * Registers {@code listener}; the first registration subscribes (without waiting). The listener
   * hears {@code restored} at once if the stream is whole.
   */
  Disposable register(InvalidationListener listener) {
    boolean subscribe;
    synchronized (lock) {
      listeners.add(listener);
      if (up) {
        listener.restored();
      }
      subscribe = !subscribing;
      subscribing = true;
    }
    if (subscribe) {
      connection.addListener((RedisPubSubAdapter<String, byte[]>) this);
      connection.addListener((RedisConnectionStateListener) this);
      connection.reactive().subscribe(CHANNEL).subscribe(null, e -> LOG.warn(
          "subscribing to {} failed; near caches on this store stay bypassed: {}", CHANNEL,
          e.toString()));
    }
    return () -> listeners.remove(listener);
  }

  @Override
  public void subscribed(String channel, long count) {
    if (CHANNEL.equals(channel)) {
      transition(true);
    }
  }

  @Override
  public void unsubscribed(String channel, long count) {
    if (CHANNEL.equals(channel)) {
      transition(false);
    }
  }

  @Override
  public void onRedisDisconnected(RedisChannelHandler<?, ?> handler) {
    transition(false);
  }

  private void transition(boolean nowUp) {
    synchronized (lock) {
      if (up == nowUp) {
        return;
      }
      up = nowUp;
      for (InvalidationListener listener : listeners) {
        try {
          if (nowUp) {
            listener.restored();
          } else {
            listener.lost();
          }
        } catch (RuntimeException e) {
          LOG.warn("an invalidation listener failed: {}", e.toString());
        }
      }
    }
  }

  @Override
  public void message(String channel, byte[] message) {
    if (!CHANNEL.equals(channel)) {
      return;
    }
    String keys = new String(message, StandardCharsets.UTF_8);
    int at = 0;
    while (at < keys.length()) {
      int end = keys.indexOf('}', at);
      if (end < 0) {
        LOG.warn("ignored the end of a malformed invalidation: {}", keys.substring(at));
        return;
      }
      String key = keys.substring(at, end + 1);
      at = end + 1;
      @Nullable String namespace = RedisKeyLayout.namespaceOf(key);
      @Nullable String storeKey = namespace == null ? RedisKeyLayout.storeKeyOf(key) : null;
      for (InvalidationListener listener : listeners) {
        try {
          if (namespace != null) {
            listener.namespaceInvalidated(namespace);
          } else if (storeKey != null) {
            listener.invalidated(storeKey);
          }
        } catch (RuntimeException e) {
          LOG.warn("an invalidation listener failed: {}", e.toString());
        }
      }
    }
  }

  /**
   * Stops listening (the store closes; the connection is closed or is the caller's). The
   * listeners hear {@code lost}: nothing will tell them of changes any more.
   */
  void close() {
    transition(false);
    connection.removeListener((RedisPubSubAdapter<String, byte[]>) this);
    connection.removeListener((RedisConnectionStateListener) this);
  }
}
