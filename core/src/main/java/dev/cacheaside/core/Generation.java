package dev.cacheaside.core;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A cache's namespace generation: a counter in the store that is part of every entry's key, so
 * bumping it makes every older entry unreachable at once (they then expire by their TTL). Each
 * instance reads the counter at most once per refresh interval and shares that read among
 * concurrent callers; an instance therefore sees another instance's bump within one interval.
 *
 * <p>The counter key carries no TTL; a Redis eviction policy that may evict keys without a TTL
 * ({@code allkeys-*}) could drop it and make old generation-0 entries reachable again, so use
 * {@code volatile-*} policies or {@code noeviction} for the cache's Redis.
 */
final class Generation {
  private static final Logger LOG = Loggers.getLogger(Generation.class);

  private final CacheStore store;
  private final String counterKey;
  private final long refreshMillis;
  private final Clock clock;
  private final StatsCounter stats;
  private final AtomicReference<Mono<Long>> refreshing = new AtomicReference<>();
  /** -1 until first read. */
  private volatile long value = -1;
  private volatile long readAt;

  Generation(CacheStore store, String counterKey, long refreshMillis, Clock clock,
      StatsCounter stats) {
    this.store = store;
    this.counterKey = counterKey;
    this.refreshMillis = refreshMillis;
    this.clock = clock;
    this.stats = stats;
  }

  String counterKey() {
    return counterKey;
  }

  /** The generation if it was read within the refresh interval, else -1. */
  long currentIfFresh() {
    long v = value;
    return v >= 0 && clock.millis() - readAt < refreshMillis ? v : -1;
  }

  /** Reads the counter (one read in flight at a time); a failing store keeps the last value. */
  Mono<Long> refresh() {
    Mono<Long> existing = refreshing.get();
    if (existing != null) {
      return existing;
    }
    AtomicReference<Mono<Long>> self = new AtomicReference<>();
    Mono<Long> read = store.get(counterKey)
        .map(Generation::parse)
        .defaultIfEmpty(0L)
        .doOnNext(this::remember)
        .onErrorResume(e -> {
          stats.storeErrors.increment();
          LOG.debug("generation read of {} failed: {}", counterKey, e.toString());
          return Mono.just(Math.max(0L, value));
        })
        .doFinally(signal -> refreshing.compareAndSet(self.get(), null))
        .cache();
    self.set(read);
    return refreshing.compareAndSet(null, read) ? read : refresh();
  }

  /** Increments the counter and adopts the new value at once in this instance. */
  Mono<Long> bump() {
    return store.increment(counterKey).doOnNext(this::remember);
  }

  private void remember(long generation) {
    value = generation;
    readAt = clock.millis();
  }

  private static long parse(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.US_ASCII);
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new IllegalStateException("generation counter holds '" + text + "'", e);
    }
  }

  /** The store key of an entry under a generation; generation 0 leaves the key as formatted. */
  static String keyOf(String baseKey, long generation) {
    return generation == 0 ? baseKey : baseKey + "#g" + generation;
  }
}
