package dev.cacheaside.spring.boot;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.stats.CacheStatsSource;
import dev.cacheaside.jackson.JacksonCodec;
import java.lang.reflect.Type;
import java.util.Collection;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.cache.Cache;
import org.springframework.cache.support.SimpleValueWrapper;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;
import tools.jackson.databind.ObjectMapper;

/**
 * A Spring {@link Cache} over a {@link CacheAside}: what {@link CacheAsideCacheManager} hands out.
 *
 * <h2>With the cache annotations (the way to use it)</h2>
 * On methods returning {@code Mono} or {@code Flux}, Spring calls {@link #retrieve(Object,
 * Supplier)} for {@code @Cacheable(sync = true)}, and {@link #retrieve(Object)} then
 * {@link #put} for a plain {@code @Cacheable}. The auto-configuration turns a plain reactive
 * {@code @Cacheable} into the first form where Spring allows it (one cache, no {@code unless}, no
 * other cache annotation on the method; {@code cache-aside.cache-manager.reactive-sync}), and
 * answers it with {@link CacheAside#cacheAside}: one load per key across instances, "not found"
 * (an empty {@code Mono}, an empty {@code Flux}) cached for the negative TTL, no stale set after a
 * write. Values are JSON of the method's declared return type (a {@code Flux<T>} as a
 * {@code List<T>}), written and read with the application's {@code JsonMapper}; the bytes never
 * choose a class.
 *
 * <h2>Used directly</h2>
 * This class has no method's return type to go by: {@link #get(Object)} and
 * {@link #retrieve(Object)} read values as JSON's own types (maps, lists, strings, numbers);
 * {@link #get(Object, Class)} reads the given type. And it never writes a value it did not load
 * itself under a lease, since a value handed in may already be stale:
 * <ul>
 *   <li>{@link #put} evicts the key (so the next read loads it); {@link #putIfAbsent} stores the
 *       value only if the key holds no entry, under a lease;</li>
 *   <li>{@link #evict} and {@link #clear} ({@link CacheAside#bumpGeneration}) run in the
 *       background; {@link #evictIfPresent} and {@link #invalidate} wait for the store on a
 *       thread that may block, and return {@code false} (whether the key was present is not
 *       known);</li>
 *   <li>the blocking reads ({@code get}) wait at most 30 s, and refuse to run on a Reactor
 *       non-blocking thread ({@link IllegalStateException}): use {@link #retrieve} there.</li>
 * </ul>
 *
 * @since 0.1
 */
public final class CacheAsideSpringCache implements Cache, CacheStatsSource {
  private static final Logger LOG = Loggers.getLogger(CacheAsideSpringCache.class);
  private static final ValueWrapper NOT_FOUND = new SimpleValueWrapper(null);

  private final CacheAside<Object, byte[]> cache;
  private final ObjectMapper mapper;
  private final ConcurrentMap<Type, JacksonCodec<Object>> codecs = new ConcurrentHashMap<>();
  /** Loader calls that only asked "is it cached?" (Spring's retrieve without a loader). */
  private final LongAdder probes = new LongAdder();
  /** Entries whose JSON the method's type could not read (deleted, read again). */
  private final LongAdder unreadable = new LongAdder();
  private final CacheView direct;

  CacheAsideSpringCache(CacheAside<Object, byte[]> cache, ObjectMapper mapper) {
    this.cache = TransactionAwareCacheAside.wrap(cache);
    this.mapper = mapper;
    this.direct = new CacheView(this, ValueShape.UNTYPED, CacheView.Kind.DIRECT, null);
  }

  @Override
  public String getName() {
    return cache.name();
  }

  /** The {@link CacheAside} (transaction-aware) that holds this cache's entries as bytes. */
  @Override
  public CacheAside<Object, byte[]> getNativeCache() {
    return cache;
  }

  @Override
  public String name() {
    return cache.name();
  }

  /**
   * The counters of the underlying {@link CacheAside}, less the loader calls that were only
   * Spring's "is it cached?" question ({@link #retrieve(Object)}), which are neither loads nor
   * failures.
   */
  @Override
  public CacheStats stats() {
    long asked = probes.sum();
    CacheStats stats = cache.stats();
    return asked == 0 ? stats
        : stats.minus(CacheStats.builder().loads(asked).loadFailures(asked).build());
  }

  /** Entries this cache's views could not read as their method's type (deleted and loaded again). */
  public long unreadableEntries() {
    return unreadable.sum();
  }

  /** A view with a method's value type, for one call of that method. */
  CacheView view(ValueShape shape, CacheView.Kind kind, @Nullable InvocationScope scope) {
    return new CacheView(this, shape, kind, scope);
  }

  // ---- the engine of the views ----

  JacksonCodec<Object> codec(ValueShape shape) {
    return codecs.computeIfAbsent(shape.type(), type -> JacksonCodec.of(type, mapper));
  }

  /**
   * Reads through the cache: the value, empty for "not found", the loader's error. An entry the
   * method's type cannot read is deleted and read once more.
   */
  Mono<Object> load(Object key, ValueShape shape, Function<Object, Mono<?>> loader) {
    JacksonCodec<Object> codec = codec(shape);
    Mono<Object> read = cache.cacheAside(key, k -> loader.apply(k)
            .flatMap(value -> empty(shape, value) ? Mono.empty() : Mono.just(codec.encode(value))))
        .map(bytes -> decode(codec, bytes));
    return read.onErrorResume(UnreadableEntry.class, e -> {
      unreadable.increment();
      return cache.invalidate(key).onErrorResume(x -> Mono.empty()).then(read);
    });
  }

  /**
   * Only asks the cache: a value, {@link #NOT_FOUND} for a cached "not found", empty for a miss.
   * A miss takes the key's lease for a moment (the question is a load that fails at once), so a
   * caller that finds another instance loading the key waits for its value, within the lease wait.
   */
  Mono<ValueWrapper> probe(Object key, ValueShape shape) {
    JacksonCodec<Object> codec = codec(shape);
    return cache.cacheAside(key, k -> {
          probes.increment();
          return Mono.<byte[]>error(NotCached.INSTANCE);
        })
        .map(bytes -> (ValueWrapper) new SimpleValueWrapper(decode(codec, bytes)))
        .defaultIfEmpty(NOT_FOUND)
        .onErrorResume(NotCached.class, e -> Mono.empty())
        .onErrorResume(UnreadableEntry.class, e -> {
          unreadable.increment();
          return cache.invalidate(key).onErrorResume(x -> Mono.empty()).then(Mono.empty());
        });
  }

  /**
   * Stores {@code value} if the key holds no entry, under a lease; emits what the key holds
   * afterwards, or empty if that is "not found". {@code stored} learns whether it was ours.
   */
  Mono<Object> storeIfAbsent(Object key, @Nullable Object value, ValueShape shape,
      @Nullable Runnable stored) {
    return load(key, shape, k -> {
      if (stored != null) {
        stored.run();
      }
      return Mono.justOrEmpty(value);
    });
  }

  Mono<Void> invalidate(Object key) {
    return cache.invalidate(key);
  }

  /** {@code clear()}: a new namespace generation, after the commit inside a transaction. */
  Mono<Void> invalidateAll() {
    return TransactionAwareCacheAside.afterCommitOrNow(() -> cache.bumpGeneration()
        .onErrorResume(e -> {
          LOG.warn("cache '{}': clearing (a generation bump) failed: {}", getName(), e.toString());
          return Mono.empty();
        }));
  }

  /** Subscribes in the background; a failure is logged. */
  void background(Mono<?> work, String what) {
    work.subscribe(null, e -> LOG.warn("cache '{}': {} failed: {}", getName(), what, e.toString()));
  }

  private static boolean empty(ValueShape shape, Object value) {
    return shape.multi() && value instanceof Collection<?> collection && collection.isEmpty();
  }

  private static Object decode(JacksonCodec<Object> codec, byte[] bytes) {
    try {
      return codec.decode(bytes);
    } catch (IllegalArgumentException e) {
      throw new UnreadableEntry(e);
    }
  }

  // ---- Spring's Cache, used directly: a view without a method ----

  @Override
  public @Nullable ValueWrapper get(Object key) {
    return direct.get(key);
  }

  @Override
  public <T> @Nullable T get(Object key, @Nullable Class<T> type) {
    return direct.get(key, type);
  }

  @Override
  public <T> @Nullable T get(Object key, Callable<T> valueLoader) {
    return direct.get(key, valueLoader);
  }

  @Override
  public @Nullable CompletableFuture<?> retrieve(Object key) {
    return direct.retrieve(key);
  }

  @Override
  public <T> CompletableFuture<T> retrieve(Object key, Supplier<CompletableFuture<T>> valueLoader) {
    return direct.retrieve(key, valueLoader);
  }

  @Override
  public void put(Object key, @Nullable Object value) {
    direct.put(key, value);
  }

  @Override
  public @Nullable ValueWrapper putIfAbsent(Object key, @Nullable Object value) {
    return direct.putIfAbsent(key, value);
  }

  @Override
  public void evict(Object key) {
    direct.evict(key);
  }

  @Override
  public boolean evictIfPresent(Object key) {
    return direct.evictIfPresent(key);
  }

  @Override
  public void clear() {
    direct.clear();
  }

  @Override
  public boolean invalidate() {
    return direct.invalidate();
  }

  @Override
  public String toString() {
    return "CacheAsideSpringCache[" + getName() + "]";
  }

  /** The answer of a loader that was only asked whether the key is cached. */
  static final class NotCached extends RuntimeException {
    private static final long serialVersionUID = 1L;
    static final NotCached INSTANCE = new NotCached();

    private NotCached() {
      super("not cached", null, false, false);
    }
  }

  /** An entry the method's type cannot read. */
  static final class UnreadableEntry extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UnreadableEntry(Throwable cause) {
      super(Objects.requireNonNull(cause).getMessage(), cause, false, false);
    }
  }
}
