package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
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
 *   <dt>entry key</dt><dd>the cache key as a string: {@code keyFormat(key)}, by default
 *       {@code String.valueOf(key)} ({@code 42}); any characters, but valid Unicode;</dd>
 *   <dt>store key</dt><dd>the entry key in this cache's namespace under its current generation,
 *       what every {@link CacheStore} call is given:
 *       {@code escape(name) + ":" + generation + ":" + entryKey} ({@code products:1733333:42}),
 *       where {@code escape} writes {@code %} as {@code %25} and {@code :} as {@code %3A}. The
 *       name has no bare colon and the generation is digits, so the first two colons are the
 *       separators and everything after them is the entry key: distinct (name, generation, entry
 *       key) triples make distinct store keys, whatever their characters;</dd>
 *   <dt>value key, lease key</dt><dd>the store's own keys for a store key's value and lease
 *       (Redis: see {@code RedisKeyLayout}); the engine never sees them.</dd>
 * </dl>
 *
 * <h2>Generations</h2>
 * The generation is a number the store keeps per namespace ({@link CacheStore#generation});
 * bumping it makes every older entry unreachable at once (they then expire by their TTL). Each
 * instance reads it at most once per refresh interval and shares that read among concurrent
 * callers, so it sees another instance's bump within one interval. A failing read keeps the last
 * value known. The same read takes the store's time ({@link CacheStore#time}), which sets the
 * {@link StoreClock} that entries are stamped and judged by.
 */
final class Namespace<K> {
  private final String name;
  /** The name as it stands in a store key: {@code %} and {@code :} escaped. */
  private final String prefix;
  private final Function<? super K, String> keyFormat;
  private final CacheStore store;
  private final long refreshMillis;
  private final StoreClock clock;
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

  Namespace(CacheSettings<K, ?> settings, StoreClock clock, StoreErrorLog errors) {
    this.errors = errors;
    this.name = settings.name();
    this.prefix = escape(checkUnicode(name, "cache name")) + ":";
    this.keyFormat = settings.keyFormat();
    this.store = settings.store();
    this.refreshMillis = settings.generationRefresh().toMillis();
    this.clock = clock;
    this.scheduler = settings.scheduler();
    this.storeTimeout = settings.storeTimeout();
  }

  /**
   * The entry key of {@code key}, checked when the call is made so bad keys fail early.
   *
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if the key format yields null, an empty string, or a string
   *     that is not valid Unicode (a lone surrogate cannot be written to a store losslessly)
   */
  String entryKey(K key) {
    Objects.requireNonNull(key, "key must not be null");
    String entryKey = keyFormat.apply(key);
    if (entryKey == null || entryKey.isEmpty()) {
      throw new IllegalArgumentException("cache '" + name + "': key format returned "
          + (entryKey == null ? "null" : "an empty string") + " for key " + key);
    }
    return checkUnicode(entryKey, "key");
  }

  /** The store key of {@code entryKey} under {@code generation}. */
  String storeKey(String entryKey, long generation) {
    return prefix + generation + ':' + entryKey;
  }

  /** The store keys of {@code entryKeys} under {@code generation}, in order. */
  List<String> storeKeys(List<String> entryKeys, long generation) {
    List<String> keys = new ArrayList<>(entryKeys.size());
    entryKeys.forEach(k -> keys.add(storeKey(k, generation)));
    return keys;
  }

  /** {@code text} with {@code %} and {@code :} escaped, so that it holds no bare colon. */
  static String escape(String text) {
    if (text.indexOf('%') < 0 && text.indexOf(':') < 0) {
      return text;
    }
    return text.replace("%", "%25").replace(":", "%3A");
  }

  /**
   * Fails on a string that is not valid Unicode: a lone surrogate has no UTF-8 form, and stores
   * that write UTF-8 would write it as {@code ?}, the same as another key's {@code ?}.
   */
  static String checkUnicode(String text, String what) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isSurrogate(c)) {
        boolean paired = Character.isHighSurrogate(c) && i + 1 < text.length()
            && Character.isLowSurrogate(text.charAt(i + 1));
        if (!paired) {
          throw new IllegalArgumentException(what + " holds a lone surrogate U+"
              + Integer.toHexString(c).toUpperCase(java.util.Locale.ROOT) + " at index " + i
              + ", which no store can write: keys must be valid Unicode");
        }
        i++;
      }
    }
    return text;
  }

  /**
   * The generation if it was read within the refresh interval, else -1: the hit path's check,
   * without I/O and without allocation.
   */
  long generationIfFresh() {
    long g = generation;
    return g >= 0 && clock.localMillis() - readAt < refreshMillis ? g : -1;
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
      if (generation < 0 && failed != NEVER_FAILED
          && clock.localMillis() - failed < refreshMillis) {
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
        : OffStackErrors.of(readGeneration(), scheduler)
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
    Mono<Long> read = OffStackErrors.of(readGeneration(), scheduler)
        .doOnNext(this::remember)
        .onErrorResume(e -> {
          errors.failed("generation", name, e);
          long known = generation;
          if (known >= 0) {
            remember(known);
          } else {
            failedAt = clock.localMillis();
          }
          return Mono.just(known >= 0 ? known : UNKNOWN);
        })
        .doFinally(signal -> refreshing.compareAndSet(self.get(), null))
        .cache();
    self.set(read);
    return refreshing.compareAndSet(null, read) ? read : refresh();
  }

  /**
   * One read of the generation and, beside it, of the store's clock, which sets the
   * {@link StoreClock}; a store without a clock, or whose clock read fails, leaves it as it was.
   */
  private Mono<Long> readGeneration() {
    return Mono.defer(() -> {
      long sentAt = clock.localMillis();
      Mono<Boolean> storeTime = store.time(name)
          .doOnNext(millis -> clock.observed(millis, sentAt, clock.localMillis()))
          .hasElement()
          .onErrorReturn(false);
      Mono<Long> generation = store.generation(name)
          .switchIfEmpty(Mono.error(() -> new IllegalStateException("store " + store
              + " answered no generation for " + name)));
      return Mono.zip(generation, storeTime, (g, timed) -> g).timeout(storeTimeout, scheduler);
    });
  }

  /** Bumps the counter and adopts the new value at once in this instance. */
  Mono<Long> bump() {
    return OffStackErrors.of(store.bumpGeneration(name).timeout(storeTimeout, scheduler),
        scheduler).doOnNext(this::remember);
  }

  private void remember(long value) {
    generation = value;
    readAt = clock.localMillis();
  }
}
