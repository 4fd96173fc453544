package dev.cacheaside.core;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * What a cache's entries are made of, and nothing else: the {@link Envelope} around the codec's
 * bytes, TTLs with their jitter, the size limit. No I/O; shared by the single-key and the bulk
 * read, so the two cannot drift apart.
 */
final class Entries<V> {
  private final String cacheName;
  private final Codec<V> codec;
  private final StoreClock clock;
  private final Duration ttl;
  private final double ttlJitter;
  private final Duration negativeTtl;
  private final Duration staleGrace;
  private final int maxValueBytes;
  private final StatsCounter stats;
  private final int schemaVersion;
  private final long graceMillis;

  Entries(CacheSettings<?, V> settings, StoreClock clock, StatsCounter stats) {
    this.cacheName = settings.name();
    // A decompressing codec learns the bound here, so what it may expand to and what may be
    // stored are the same limit.
    this.codec = Objects.requireNonNull(settings.codec().withMaxValueBytes(
        settings.maxValueBytes()), "withMaxValueBytes returned null");
    this.clock = clock;
    this.ttl = settings.ttl();
    this.ttlJitter = settings.ttlJitter();
    this.negativeTtl = settings.negativeTtl();
    this.staleGrace = settings.staleGrace();
    this.maxValueBytes = settings.maxValueBytes();
    this.stats = stats;
    this.schemaVersion = settings.schemaVersion();
    this.graceMillis = settings.staleGrace().toMillis();
  }

  /**
   * What a stored entry says: a fresh value or "not found"; a stale one (past its logical expiry,
   * within grace); an expired one (past its grace too, yet still in the store: a clock that is
   * off, or a store that keeps it longer; never served); nothing usable of ours (corrupt: counted
   * and logged; the reader deletes it); or nothing of ours at all (alien: another application's
   * value, or another version's entry; counted, never deleted nor overwritten). The envelope (null
   * unless fresh, stale or expired) carries the times early refresh weighs.
   */
  record Decoded<V>(State state, @Nullable V value, @Nullable Envelope envelope) {
    enum State { FRESH, STALE, EXPIRED, CORRUPT, ALIEN }

    /** The outcome of serving this entry as a hit (fresh) or stale. */
    Outcome<V> outcome() {
      return state == State.STALE ? Outcome.stale(value) : Outcome.hit(value);
    }
  }

  /** An entry ready to store: the envelope's bytes and its physical TTL (logical + grace). */
  record Encoded(byte[] bytes, Duration ttl) {}

  /** Decodes the envelope and the value. */
  Decoded<V> decode(String storeKey, byte[] bytes) {
    Envelope.Kind kind = Envelope.classify(bytes, schemaVersion);
    if (kind != Envelope.Kind.OURS) {
      (kind == Envelope.Kind.FOREIGN ? stats.foreignEntries : stats.otherVersionEntries)
          .increment();
      Log.CACHE.debug("cache '{}': entry {} is {}; served around, left alone", cacheName,
          storeKey, kind == Envelope.Kind.FOREIGN ? "not this library's"
              : "another version's (format or schema)");
      return new Decoded<>(Decoded.State.ALIEN, null, null);
    }
    Envelope envelope;
    try {
      envelope = Envelope.decode(bytes);
    } catch (Envelope.Corrupt e) {
      return corrupt(storeKey, e);
    }
    V value = null;
    if (!envelope.negative()) {
      try {
        value = codec.decode(envelope.data(), envelope.offset(), envelope.payloadLength());
        if (value == null) {
          throw new IllegalStateException("codec " + codec + " decoded null");
        }
      } catch (RuntimeException e) {
        return corrupt(storeKey, e);
      }
    }
    long now = clock.millis();
    Decoded.State state = !envelope.isStale(now) ? Decoded.State.FRESH
        : now - envelope.expiresAt() < graceMillis ? Decoded.State.STALE
        : Decoded.State.EXPIRED;
    return new Decoded<>(state, value, envelope);
  }

  private Decoded<V> corrupt(String storeKey, RuntimeException e) {
    stats.corruptEntries.increment();
    Log.CACHE.warn("cache '{}': entry {} cannot be decoded ({}); treating it as a miss and"
        + " deleting it", cacheName, storeKey, e.toString());
    return new Decoded<>(Decoded.State.CORRUPT, null, null);
  }

  /**
   * Builds the entry for a loaded value, or for "not found" when {@code value} is null: the
   * envelope with a jittered TTL.
   *
   * @param loadedAt when the load began, by the cache's clock
   * @return the entry, or null when nothing is to be stored (a zero negative TTL, or a value over
   *     {@code maxValueBytes}: counted and logged)
   * @throws CodecException when the codec cannot encode the value
   */
  @Nullable Encoded encode(String storeKey, @Nullable V value, long loadedAt) {
    long now = clock.millis();
    // By the injected clock, like loadedAt, so virtual-time tests and simulations see their
    // loads' durations; early refresh weighs it. A wall clock stepping back reads as 0.
    int loadMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(0, now - loadedAt));
    Envelope envelope;
    if (value == null) {
      if (negativeTtl.isZero()) {
        return null;
      }
      envelope = Envelope.negative(schemaVersion, loadedAt, now + jittered(negativeTtl),
          loadMillis);
    } else {
      byte[] payload;
      try {
        payload = Objects.requireNonNull(codec.encode(value), "codec returned null");
      } catch (RuntimeException e) {
        throw new CodecException("cache '" + cacheName + "': codec " + codec
            + " cannot encode the value loaded for key " + storeKey + ": " + e.getMessage(), e);
      }
      if (payload.length > maxValueBytes) {
        stats.uncachedValues.increment();
        Log.CACHE.warn("cache '{}': value of {} is {} bytes, over maxValueBytes {}; served, not"
            + " cached", cacheName, storeKey, payload.length, maxValueBytes);
        return null;
      }
      envelope = Envelope.positive(schemaVersion, loadedAt, now + jittered(ttl), loadMillis,
          payload);
    }
    Duration physical = Duration.ofMillis(envelope.expiresAt() - now).plus(staleGrace);
    return new Encoded(envelope.encode(), physical);
  }

  /** A TTL drawn uniformly from {@code base × (1 ± jitter)}, in millis, at least 1. */
  private long jittered(Duration base) {
    long millis = base.toMillis();
    if (ttlJitter == 0.0) {
      return millis;
    }
    double factor = 1.0 + ttlJitter * (2.0 * ThreadLocalRandom.current().nextDouble() - 1.0);
    return Math.max(1L, Math.round(millis * factor));
  }
}
