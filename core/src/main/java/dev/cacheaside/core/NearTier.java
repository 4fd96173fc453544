package dev.cacheaside.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.cacheaside.core.spi.InvalidationListener;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jspecify.annotations.Nullable;

/**
 * The local tier of a near cache: copies of store entries by store key, and what decides whether
 * a copy read from the store may still go in.
 *
 * <h2>The race it closes</h2>
 * A read sends {@code GET k} and gets value {@code v1}; meanwhile another instance deletes
 * {@code k} and the announcement of it arrives here and is processed; then the read's reply is
 * handled. Installing {@code v1} now would keep a deleted value for good. So a read takes a
 * <em>ticket</em> before it sends its store call: the {@link #state} (which moves on every flush)
 * and the epoch of the key's stripe (which moves on every invalidation of a key of the stripe).
 * {@link #fill} installs inside the map's per-key {@code compute} only while both are unchanged.
 * An invalidation moves the epoch first and then removes the key, also per key: either its epoch
 * move comes before the fill's check (refused), or its removal comes after the fill's insert
 * (the per-key operations of the map are linearizable), and the copy is gone. Stripes keep an
 * invalidation of one key from refusing the fills of all others.
 *
 * <h2>Lost invalidations</h2>
 * {@link #state} is even while the invalidation stream is whole and odd while it is down. Each
 * change of it (lost, restored, a namespace flush) makes every copy stamped with an older state
 * dead at once for readers ({@link #get} compares the stamp), before the map is even cleared;
 * while it is odd nothing is read or filled. A read that began before the stream came back holds
 * a ticket of an older state, so nothing read before a break is ever served after it.
 */
final class NearTier implements InvalidationListener {
  private static final int STRIPES = 64;
  private static final AtomicIntegerFieldUpdater<NearTier> STATE =
      AtomicIntegerFieldUpdater.newUpdater(NearTier.class, "state");

  /** A copy: the store's bytes and the {@link #state} it was installed under. */
  private record Copy(byte[] bytes, int state, long ttlNanos) {}

  private final Cache<String, Copy> cache;
  private final ConcurrentMap<String, Copy> map;
  private final AtomicLongArray epochs = new AtomicLongArray(STRIPES);
  /** Only keys that begin with it are this cache's; the store announces every cache's keys. */
  private final String prefix;
  private final String name;
  private final StoreClock clock;
  private final long maxTtlMillis;
  private final StatsCounter stats;
  /** Odd until the stream is first restored: nothing is trusted before that. */
  private volatile int state = 1;

  NearTier(String name, String prefix, NearCache options, StoreClock clock, StatsCounter stats) {
    this.name = name;
    this.prefix = prefix;
    this.clock = clock;
    this.stats = stats;
    this.maxTtlMillis = options.maxTtl().toMillis();
    Caffeine<Object, Object> builder = Caffeine.newBuilder();
    if (options.maximumEntries() > 0) {
      builder.maximumSize(options.maximumEntries());
    } else {
      builder.maximumWeight(options.maximumBytes())
          .weigher((String key, Copy copy) -> copy.bytes().length);
    }
    this.cache = builder.expireAfter(Expiry.creating((String key, Copy copy) ->
        Duration.ofNanos(copy.ttlNanos()))).build();
    this.map = cache.asMap();
  }

  /** The copy of {@code storeKey} if there is a live one; counts a near hit or miss. */
  byte @Nullable [] get(String storeKey) {
    int now = state;
    Copy copy = (now & 1) == 0 ? cache.getIfPresent(storeKey) : null;
    if (copy == null || copy.state() != now) {
      stats.nearMisses.increment();
      return null;
    }
    stats.nearHits.increment();
    return copy.bytes();
  }

  /** A ticket for a store read of {@code storeKey} about to be sent; negative: do not fill. */
  long ticket(String storeKey) {
    int now = state;
    if ((now & 1) != 0) {
      return -1;
    }
    return ((long) now << 32) | (epochs.get(stripe(storeKey)) & 0xFFFF_FFFFL);
  }

  /**
   * Installs the store's {@code bytes} of {@code storeKey}, read with {@code ticket}, unless
   * anything that could have changed the entry was heard since, or the entry is not fresh.
   */
  void fill(String storeKey, byte[] bytes, long ticket) {
    long ttlNanos = ttlNanos(bytes);
    if (ticket < 0 || ttlNanos <= 0) {
      return;
    }
    int stamp = (int) (ticket >>> 32);
    int stripe = stripe(storeKey);
    map.compute(storeKey, (key, old) -> state == stamp
        && (int) epochs.get(stripe) == (int) ticket ? new Copy(bytes, stamp, ttlNanos) : null);
  }

  /** How long a copy of {@code bytes} may live: to its logical expiry, at most the cap. */
  private long ttlNanos(byte[] bytes) {
    try {
      long left = Envelope.decode(bytes).expiresAt() - clock.millis();
      return left <= 0 ? 0 : Duration.ofMillis(Math.min(left, maxTtlMillis)).toNanos();
    } catch (Envelope.Corrupt e) {
      return 0;
    }
  }

  /** Drops the copy of {@code storeKey} and refuses fills of reads that began before. */
  void invalidate(String storeKey) {
    epochs.incrementAndGet(stripe(storeKey));
    map.remove(storeKey);
  }

  void invalidateAll(Collection<String> storeKeys) {
    for (String key : storeKeys) {
      invalidate(key);
    }
  }

  /** Drops every copy (a generation bump): the stream stays whole. */
  void flush() {
    int now;
    do {
      now = state;
    } while ((now & 1) == 0 && !STATE.compareAndSet(this, now, now + 2));
    cleared();
  }

  private void cleared() {
    stats.nearFlushes.increment();
    cache.invalidateAll();
  }

  long size() {
    return cache.estimatedSize();
  }

  /** Whether copies are neither read nor filled (the stream is down). */
  boolean bypassing() {
    return (state & 1) != 0;
  }

  @Override
  public void invalidated(String storeKey) {
    stats.invalidationMessages.increment();
    if (storeKey.startsWith(prefix)) {
      invalidate(storeKey);
    }
  }

  @Override
  public void namespaceInvalidated(String namespace) {
    stats.invalidationMessages.increment();
    if (name.equals(namespace)) {
      flush();
    }
  }

  @Override
  public void lost() {
    if (move(0) >= 0) {
      cleared();
    }
  }

  /** The first restore has nothing to flush: the tier was never filled before it. */
  @Override
  public void restored() {
    if (move(1) > 1) {
      cleared();
    }
  }

  /**
   * Moves {@link #state} on by one if its parity is {@code from}: the state it moved from, or -1
   * if it did not move.
   */
  private int move(int from) {
    int now;
    do {
      now = state;
      if ((now & 1) != from) {
        return -1;
      }
    } while (!STATE.compareAndSet(this, now, now + 1));
    return now;
  }

  private static int stripe(String key) {
    int h = key.hashCode();
    return (h ^ (h >>> 16)) & (STRIPES - 1);
  }
}
