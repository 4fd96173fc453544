package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import java.time.Clock;
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
  private final StatsCounter stats;
  private final Scheduler scheduler;
  private final AtomicReference<Mono<Long>> refreshing = new AtomicReference<>();
  /** -1 until first read. */
  private volatile long generation = -1;
  private volatile long readAt;

  Namespace(CacheSettings<K, ?> settings, StatsCounter stats) {
    this.name = settings.name();
    this.keyFormat = settings.keyFormat();
    this.store = settings.store();
    this.refreshMillis = settings.generationRefresh().toMillis();
    this.clock = settings.clock();
    this.stats = stats;
    this.scheduler = settings.scheduler();
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

  /** The current generation, read from the store at most once per refresh interval. */
  Mono<Long> generation() {
    return Mono.defer(() -> {
      long current = generationIfFresh();
      return current >= 0 ? Mono.just(current) : refresh();
    });
  }

  /** Reads the counter (one read in flight at a time); a failing store keeps the last value. */
  private Mono<Long> refresh() {
    Mono<Long> existing = refreshing.get();
    if (existing != null) {
      return existing;
    }
    AtomicReference<Mono<Long>> self = new AtomicReference<>();
    Mono<Long> read = OffStackErrors.of(store.generation(name), scheduler)
        .defaultIfEmpty(0L)
        .doOnNext(this::remember)
        .onErrorResume(e -> {
          stats.storeErrors.increment();
          Log.CACHE.debug("cache '{}': generation read failed: {}", name, e.toString());
          return Mono.just(Math.max(0L, generation));
        })
        .doFinally(signal -> refreshing.compareAndSet(self.get(), null))
        .cache();
    self.set(read);
    return refreshing.compareAndSet(null, read) ? read : refresh();
  }

  /** Bumps the counter and adopts the new value at once in this instance. */
  Mono<Long> bump() {
    return OffStackErrors.of(store.bumpGeneration(name), scheduler).doOnNext(this::remember);
  }

  private void remember(long value) {
    generation = value;
    readAt = clock.millis();
  }
}
