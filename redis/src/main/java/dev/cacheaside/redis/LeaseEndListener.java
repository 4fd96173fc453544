package dev.cacheaside.redis;

import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Hears the lease ends that the lease scripts publish on
 * {@link LeaseScripts#LEASE_ENDED_CHANNEL} and completes the watches of their value keys, so a
 * caller waiting for another instance's load looks again as soon as the value is stored instead
 * of at its next backoff step.
 *
 * <p>Redis pub/sub delivers at most once and only while subscribed: a message sent while the
 * connection is reconnecting, or before a watch was registered, is lost. That is why a watch is
 * only ever raced against the waiter's backoff timer and never replaces it. Lettuce subscribes
 * again by itself after a reconnect.
 *
 * <p>The watches of one key are kept in a list that is only touched inside the map's atomic
 * {@code compute} calls (or after {@code remove} took it out of the map for good), so no other
 * lock is needed. A watch that is cancelled (its timer won) removes itself, so keys whose end is
 * never announced (the holder died, its lease expired) leave nothing behind.
 */
final class LeaseEndListener extends RedisPubSubAdapter<String, byte[]> {
  private static final Logger LOG = Loggers.getLogger(LeaseEndListener.class);

  private final StatefulRedisPubSubConnection<String, byte[]> connection;
  private final ConcurrentHashMap<String, List<MonoSink<Void>>> watches =
      new ConcurrentHashMap<>();

  LeaseEndListener(StatefulRedisPubSubConnection<String, byte[]> connection) {
    this.connection = connection;
    connection.addListener(this);
  }

  StatefulRedisPubSubConnection<String, byte[]> connection() {
    return connection;
  }

  /** Completes when the lease on {@code valueKey} is announced to have ended; never otherwise. */
  Mono<Void> watch(String valueKey) {
    return Mono.create(sink -> {
      watches.compute(valueKey, (k, sinks) -> {
        List<MonoSink<Void>> list = sinks == null ? new ArrayList<>(2) : sinks;
        list.add(sink);
        return list;
      });
      // Runs on cancel and after success; after a success the list is out of the map (or a newer
      // list is there, which does not hold this sink), so the removal changes nothing then.
      sink.onDispose(() -> watches.computeIfPresent(valueKey, (k, sinks) -> {
        sinks.remove(sink);
        return sinks.isEmpty() ? null : sinks;
      }));
    });
  }

  @Override
  public void message(String channel, byte[] message) {
    if (!LeaseScripts.LEASE_ENDED_CHANNEL.equals(channel)) {
      return;
    }
    List<MonoSink<Void>> sinks = watches.remove(new String(message, StandardCharsets.UTF_8));
    if (sinks != null) {
      for (MonoSink<Void> sink : sinks) {
        // The waiter's next step runs inside success(), on Lettuce's pub/sub thread: one that
        // throws must neither keep the others asleep nor break Lettuce's dispatch.
        try {
          sink.success();
        } catch (RuntimeException e) {
          LOG.warn("a lease-end watch failed: {}", e.toString());
        }
      }
    }
  }

  /** The number of keys with a watch registered (for tests: watches must not leak). */
  int watchedKeys() {
    return watches.size();
  }
}
