package dev.cacheaside.redis;

import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A {@link RedisCacheStore}'s side of lease-end notifications: the pub/sub connection (its own or
 * the caller's), the subscription to {@link LeaseScripts#LEASE_ENDED_CHANNEL}, the watches of the
 * value keys that waiters wait for, and the flag that tells the {@code getOrLease} script whether
 * to mark a contended lease. The store keeps the commands and asks this class only for
 * {@link #markFlag()}, {@link #watch} and the closing.
 *
 * <p>Three kinds, by how the store was built:
 * <ul>
 *   <li>{@link #none()}: no pub/sub connection; waiters only poll and leases are never marked;
 *   <li>{@link #openBlocking}: a connection the store opened and owns, subscribed before the
 *       store exists, so leases are marked from the start;
 *   <li>{@link #onCallers}: the caller's connection, subscribed without waiting; leases are
 *       marked once Redis confirmed the subscription, so nobody is made to publish for a listener
 *       that is not there. If the subscription fails, the store stays a polling one.
 * </ul>
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
final class LeaseEnds extends RedisPubSubAdapter<String, byte[]> {
  private static final Logger LOG = Loggers.getLogger(LeaseEnds.class);

  /** The {@code getOrLease} script's flag: mark contended leases (ARGV[2], see LeaseScripts). */
  private static final byte[] MARK = "1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NO_MARK = "0".getBytes(StandardCharsets.US_ASCII);

  private static final LeaseEnds NONE = new LeaseEnds(null, false);

  /** Null for {@link #none()}. */
  private final @Nullable StatefulRedisPubSubConnection<String, byte[]> connection;
  private final boolean ownsConnection;
  private final ConcurrentHashMap<String, List<MonoSink<Void>>> watches =
      new ConcurrentHashMap<>();
  /** Set to {@link #MARK} once the subscription is confirmed, and never back. */
  private volatile byte[] markFlag = NO_MARK;

  private LeaseEnds(@Nullable StatefulRedisPubSubConnection<String, byte[]> connection,
      boolean ownsConnection) {
    this.connection = connection;
    this.ownsConnection = ownsConnection;
  }

  /** No pub/sub connection: waiters only poll. */
  static LeaseEnds none() {
    return NONE;
  }

  /**
   * Opens a pub/sub connection with {@code open}, listens on it and subscribes it to the lease-end
   * channel, waiting for Redis to confirm: only for the builds that open connections, which block
   * anyway. On failure closes what it opened and rethrows.
   */
  static LeaseEnds openBlocking(Supplier<StatefulRedisPubSubConnection<String, byte[]>> open) {
    StatefulRedisPubSubConnection<String, byte[]> pubSub = open.get();
    try {
      LeaseEnds ends = new LeaseEnds(pubSub, true);
      pubSub.addListener(ends);
      pubSub.sync().subscribe(LeaseScripts.LEASE_ENDED_CHANNEL);
      ends.markFlag = MARK;
      return ends;
    } catch (RuntimeException e) {
      pubSub.close();
      throw e;
    }
  }

  /**
   * Listens on the caller's pub/sub connection and sends the subscription without waiting: leases
   * are marked once Redis confirms it; if it fails, this logs and stays a polling one. Does not
   * block.
   */
  static LeaseEnds onCallers(StatefulRedisPubSubConnection<String, byte[]> pubSub) {
    Objects.requireNonNull(pubSub, "pubSub must not be null");
    LeaseEnds ends = new LeaseEnds(pubSub, false);
    pubSub.addListener(ends);
    pubSub.reactive().subscribe(LeaseScripts.LEASE_ENDED_CHANNEL)
        .subscribe(null, e -> LOG.warn("subscribing to {} failed; lease waiters will poll only: {}",
            LeaseScripts.LEASE_ENDED_CHANNEL, e.toString()), () -> ends.markFlag = MARK);
    return ends;
  }

  /** The mark flag argument of the {@code getOrLease} script: {@code "1"} once listening. */
  byte[] markFlag() {
    return markFlag;
  }

  /** Whether waiters mark the leases they wait for (the subscription is confirmed). */
  boolean marksLeases() {
    return markFlag == MARK;
  }

  /**
   * Completes when the lease on {@code valueKey} is announced to have ended; never otherwise,
   * and never at all without a pub/sub connection. Registered on subscription, removed on
   * cancel. Never errors.
   */
  Mono<Void> watch(String valueKey) {
    if (connection == null) {
      return Mono.never();
    }
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

  /**
   * Closes the connection if this opened it, blocking until it is closed. A caller's connection
   * outlives the store: it only loses this listener, and stays subscribed, since other users of
   * the connection may listen on the channel too.
   */
  void close() {
    if (connection == null) {
      return;
    }
    if (ownsConnection) {
      connection.close();
    } else {
      connection.removeListener(this);
    }
  }

  /** {@link #close()} without blocking: completes when the connection is closed. */
  Mono<Void> closeAsync() {
    return Mono.defer(() -> {
      if (connection == null || !ownsConnection) {
        close();
        return Mono.empty();
      }
      return Mono.fromCompletionStage(connection.closeAsync());
    });
  }

  /** The pub/sub connection, own or the caller's; null for {@link #none()}. */
  @Nullable StatefulRedisPubSubConnection<String, byte[]> connection() {
    return connection;
  }

  /** For the store's {@code toString}: whether it listens at all. */
  boolean listens() {
    return connection != null;
  }
}
