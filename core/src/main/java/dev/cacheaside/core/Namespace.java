package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * A cache's namespace: the only place that turns a cache key into the key the store is given.
 *
 * <h2>The names of a key</h2>
 * <dl>
 *   <dt>cache key</dt><dd>what the caller passes ({@code 42L});</dd>
 *   <dt>entry key</dt><dd>the cache key formatted in this cache's name space:
 *       {@code keyFormat(key)}, by default {@code name + ":" + key} ({@code products:42});</dd>
 *   <dt>store key</dt><dd>the entry key under the cache's current generation, what every
 *       {@link CacheStore} call is given: the entry key itself at generation 0,
 *       {@code entryKey + "#g" + generation} after ({@code products:42#g3});</dd>
 *   <dt>value key, lease key</dt><dd>the store's own keys for a store key's value and lease
 *       (Redis: see {@code RedisKeyLayout}); the engine never sees them.</dd>
 * </dl>
 *
 * <h2>Generations</h2>
 * The generation is a counter in the store ({@link CacheStore#generation}); bumping it makes every
 * older entry unreachable at once (they then expire by their TTL). Each instance reads it at most
 * once per refresh interval and shares that read among concurrent callers, so it sees another
 * instance's bump within one interval. A failing read keeps the last value known.
 */
final class Namespace<K> {
  private final String name;
  private final Function<? super K, String> keyFormat;
  private final CacheStore store;
  private final long refreshMillis;
  private final Clock clock;
  private final StoreErrorLog errors;
  private final Scheduler scheduler;
  private final AtomicReference<Mono<Long>> refreshing = new AtomicReference<>();
  /** -1 until first read. */
  private volatile long generation = -1;
  private volatile long readAt;
  /** When a read failed before any succeeded: reads bypass the cache until the next try. */
  private volatile long failedAt = NEVER_FAILED;
  private static final long NEVER_FAILED = Long.MIN_VALUE;
  private final Duration storeTimeout;

  Namespace(CacheSettings<K, ?> settings, StoreErrorLog errors) {
    this.errors = errors;
    this.name = settings.name();
    this.keyFormat = settings.keyFormat();
    this.store = settings.store();
    this.refreshMillis = settings.generationRefresh().toMillis();
    this.clock = settings.clock();
    this.scheduler = settings.scheduler();
    this.storeTimeout = settings.storeTimeout();
  }

  /**
   * The entry key of {@code key}, checked when the call is made so bad keys fail early.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if the key format yields null or an empty string
   */
  String entryKey(K key) {
    Objects.requireNonNull(key, "key must not be null");
    String entryKey = keyFormat.apply(key);
    if (entryKey == null || entryKey.isEmpty()) {
      throw new IllegalArgumentException("cache '" + name + "': key format returned "
          + (entryKey == null ? "null" : "an empty string") + " for key " + key);
    }
    return entryKey;
  }

  /** The store key of {@code entryKey} under {@code generation}. */
  static String storeKey(String entryKey, long generation) {
    return generation == 0 ? entryKey : entryKey + "#g" + generation;
  }

  /** The store keys of {@code entryKeys} under {@code generation}, in order. */
  static List<String> storeKeys(List<String> entryKeys, long generation) {
    List<String> keys = new ArrayList<>(entryKeys.size());
    entryKeys.forEach(k -> keys.add(storeKey(k, generation)));
    return keys;
  }

  /**
   * The generation if it was read within the refresh interval, else -1: the hit path's check,
   * without I/O and without allocation.
   */
  long generationIfFresh() {
    long g = generation;
    return g >= 0 && clock.millis() - readAt < refreshMillis ? g : -1;
  }

  /**
   * The current generation, read from the store at most once per refresh interval; or
   * {@link #UNKNOWN} when it was never read and the store fails to answer, and then the caller
   * must not touch the store's entries (it cannot know which are current).
   */
  Mono<Long> generation() {
    return Mono.defer(() -> {
      long current = generationIfFresh();
      if (current >= 0) {
        return Mono.just(current);
      }
      long failed = failedAt;
      if (generation < 0 && failed != NEVER_FAILED && clock.millis() - failed < refreshMillis) {
        return Mono.just(UNKNOWN);
      }
      return refresh();
    });
  }

  /**
   * The generation for an invalidation: the current one as {@link #generation()} reads it, or,
   * when none was ever read, a read made now whatever the failure backoff says, and its error
   * if it fails: an invalidation under a guessed generation would report a delete that missed.
   */
  Mono<Long> generationForWrite() {
    return generation().flatMap(g -> g != UNKNOWN ? Mono.just(g)
        : OffStackErrors.of(store.generation(name).timeout(storeTimeout, scheduler), scheduler)
            .defaultIfEmpty(0L)
            .doOnNext(this::remember)
            .doOnError(e -> errors.failed("generation", name, e)));
  }

  /** What {@link #generation()} says when it does not know. */
  static final long UNKNOWN = -1;

  /**
   * Reads the counter (one read in flight at a time). A failing store keeps the last value for
   * another refresh interval (so a store outage costs one failed read per interval, not one per
   * cache read); before any value is known it answers {@link #UNKNOWN} for an interval.
   */
  private Mono<Long> refresh() {
    Mono<Long> existing = refreshing.get();
    if (existing != null) {
      return existing;
    }
    AtomicReference<Mono<Long>> self = new AtomicReference<>();
    Mono<Long> read = OffStackErrors.of(store.generation(name).timeout(storeTimeout, scheduler),
            scheduler)
        .defaultIfEmpty(0L)
        .doOnNext(this::remember)
        .onErrorResume(e -> {
          errors.failed("generation", name, e);
          long known = generation;
          if (known >= 0) {
            remember(known);
          } else {
            failedAt = clock.millis();
          }
          return Mono.just(known >= 0 ? known : UNKNOWN);
        })
        .doFinally(signal -> refreshing.compareAndSet(self.get(), null))
        .cache();
    self.set(read);
    return refreshing.compareAndSet(null, read) ? read : refresh();
  }

  /** Bumps the counter and adopts the new value at once in this instance. */
  Mono<Long> bump() {
    return OffStackErrors.of(store.bumpGeneration(name).timeout(storeTimeout, scheduler),
        scheduler).doOnNext(this::remember);
  }

  private void remember(long value) {
    generation = value;
    readAt = clock.millis();
  }
}
