package dev.cacheaside.redis;

import dev.cacheaside.core.spi.InvalidationListener;
import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionStateListener;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
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
 *
 * <p>A stream can also stop without any disconnect: Redis or the network frozen, the TCP
 * connection open and nothing arriving, announcements included, for as long as the freeze lasts.
 * Near hits never touch Redis, so nothing else would notice. So while subscribed the connection
 * is pinged every {@link #HEARTBEAT}; a ping not answered within {@link #PING_DEADLINE} counts
 * as lost, and the next answered one restores: replies come in order on the connection, so every
 * message held back with the ping was handled before its answer.
 */
final class Invalidations extends RedisPubSubAdapter<String, byte[]>
    implements RedisConnectionStateListener {
  private static final Logger LOG = Loggers.getLogger(Invalidations.class);

  /** The channel of entry changes. */
  static final String CHANNEL = "cache-aside:invalidated";

  /**
   * How often the pub/sub connection is pinged while a near cache listens.
   */
  static final Duration HEARTBEAT = Duration.ofSeconds(1);

  /**
   * How long a ping's answer may take before the stream counts as lost: a freeze makes near
   * caches bypass within {@link #HEARTBEAT} plus this. Generous, since a false alarm flushes
   * every near cache on the store (a loaded machine has answered in hundreds of milliseconds).
   */
  static final Duration PING_DEADLINE = Duration.ofSeconds(2);

  private final StatefulRedisPubSubConnection<String, byte[]> connection;
  private final List<InvalidationListener> listeners = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();
  private boolean up;
  /** Redis confirmed the subscription and the connection has not dropped since. */
  private boolean subscribed;
  /** The last ping was not answered in time (see {@link #HEARTBEAT}). */
  private boolean stalled;
  private boolean closed;
  private boolean subscribing;
  private @Nullable Disposable heartbeat;

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
      Disposable beats = Flux.interval(HEARTBEAT, Schedulers.parallel())
          .onBackpressureDrop()
          .concatMap(tick -> connection.reactive().ping()
              .timeout(PING_DEADLINE, Schedulers.parallel())
              .map(pong -> true)
              // An error reply is an answer too (a server or proxy that refuses PING in pub/sub
              // mode is still delivering); only silence or a broken connection is a break.
              .onErrorResume(e -> Mono.just(e instanceof RedisCommandExecutionException)), 1)
          .subscribe(this::answered);
      synchronized (lock) {
        if (closed) {
          beats.dispose();
        } else {
          heartbeat = beats;
        }
      }
    }
    return () -> listeners.remove(listener);
  }

  /**
   * A subscription confirmed is an answer too: whatever the connection held before it was
   * handled.
   */
  @Override
  public void subscribed(String channel, long count) {
    if (CHANNEL.equals(channel)) {
      synchronized (lock) {
        subscribed = true;
        stalled = false;
        update();
      }
    }
  }

  @Override
  public void unsubscribed(String channel, long count) {
    if (CHANNEL.equals(channel)) {
      synchronized (lock) {
        subscribed = false;
        update();
      }
    }
  }

  @Override
  public void onRedisDisconnected(RedisChannelHandler<?, ?> handler) {
    synchronized (lock) {
      subscribed = false;
      update();
    }
  }

  /** A heartbeat's outcome: answered in time or not. */
  private void answered(boolean inTime) {
    synchronized (lock) {
      stalled = !inTime;
      update();
    }
  }

  /** Tells the listeners if the stream went up or down; called holding {@link #lock}. */
  private void update() {
    boolean nowUp = subscribed && !stalled && !closed;
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
      } catch (Throwable e) {
        failed(e);
      }
    }
  }

  /**
   * A listener that throws, even an {@link Error} (BlockHound's, say), must not keep the others
   * from hearing the message, nor reach Lettuce, which resets the pub/sub connection on it.
   */
  private static void failed(Throwable e) {
    Exceptions.throwIfJvmFatal(e);
    LOG.warn("an invalidation listener failed: {}", e.toString());
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
        } catch (Throwable e) {
          failed(e);
        }
      }
    }
  }

  /**
   * Stops listening (the store closes; the connection is closed or is the caller's). The
   * listeners hear {@code lost}: nothing will tell them of changes any more.
   */
  void close() {
    Disposable beats;
    synchronized (lock) {
      closed = true;
      beats = heartbeat;
      update();
    }
    if (beats != null) {
      beats.dispose();
    }
    connection.removeListener((RedisPubSubAdapter<String, byte[]>) this);
    connection.removeListener((RedisConnectionStateListener) this);
  }
}
