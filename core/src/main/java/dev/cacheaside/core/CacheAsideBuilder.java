package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.StoreChecks;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Configures a {@link CacheAside}. Each setter checks its argument at once and names a bad value;
 * options that clash fail in {@link #build()}. Obtain one with {@link CacheAside#builder(String)}.
 *
 * @param <K> the key type
 * @param <V> the value type
 * @since 0.1
 */
public final class CacheAsideBuilder<K, V> {
  private final String name;
  private @Nullable CacheStore store;
  private @Nullable Codec<V> codec;
  private @Nullable Function<? super K, String> keyFormat;
  private Duration ttl = CacheAsideDefaults.TTL;
  private double ttlJitter = 0.0;
  private @Nullable Duration negativeTtl;
  private Duration staleGrace = Duration.ZERO;
  private boolean leases = true;
  private Duration leaseTtl = CacheAsideDefaults.LEASE_TTL;
  private Duration leaseWait = CacheAsideDefaults.LEASE_WAIT;
  private Duration leaseBackoffMin = CacheAsideDefaults.LEASE_BACKOFF_MIN;
  private Duration leaseBackoffMax = CacheAsideDefaults.LEASE_BACKOFF_MAX;
  private boolean shareReads = true;
  private int maxValueBytes = CacheAsideDefaults.MAX_VALUE_BYTES;
  private int schemaVersion;
  private Duration generationRefresh = CacheAsideDefaults.GENERATION_REFRESH;
  private Clock clock = Clock.systemUTC();
  private Scheduler scheduler = Schedulers.parallel();
  private CacheSettings.Refresh refresh = CacheSettings.Refresh.defaults();
  private CacheSettings.Bulk bulk = CacheSettings.Bulk.DEFAULT;
  private LoadDecorator loadDecorator = LoadDecorator.NONE;
  private InvalidationRetry invalidationRetry = InvalidationRetry.DEFAULT;
  private @Nullable Duration loadTimeout;
  private AbandonedReads abandonedReads = CacheAsideDefaults.ABANDONED_READS;
  private Duration storeTimeout = CacheAsideDefaults.STORE_TIMEOUT;
  private @Nullable NearCache nearCache;

  CacheAsideBuilder(String name) {
    this.name = Arguments.notBlank(name, "name");
  }

  /** The store that holds the entries (required). */
  public CacheAsideBuilder<K, V> store(CacheStore store) {
    this.store = Objects.requireNonNull(store, "store must not be null");
    return this;
  }

  /** The codec that turns values into bytes (required). */
  public CacheAsideBuilder<K, V> codec(Codec<V> codec) {
    this.codec = Objects.requireNonNull(codec, "codec must not be null");
    return this;
  }

  /**
   * How a key becomes a string, its entry key: default {@code String.valueOf(key)}. The entry
   * key is stored in this cache's own namespace (its name and generation come with it), so two
   * caches never share an entry, whatever their keys. The function must be deterministic, must
   * not return null or an empty string, and must tell apart the keys it is given: two keys with
   * one string share one entry. Any characters may be used; a lone surrogate (not valid Unicode)
   * fails the call.
   */
  public CacheAsideBuilder<K, V> keyFormat(Function<? super K, String> keyFormat) {
    this.keyFormat = Objects.requireNonNull(keyFormat, "keyFormat must not be null");
    return this;
  }

  /**
   * How long a loaded value is fresh. Default {@link CacheAsideDefaults#TTL}; must be at least
   * 1 ms.
   */
  public CacheAsideBuilder<K, V> ttl(Duration ttl) {
    this.ttl = StoreChecks.checkTtl(ttl, "ttl");
    return this;
  }

  /**
   * Spreads expiries: each entry's TTL is drawn uniformly from {@code ttl × (1 ± jitter)}, so
   * keys loaded together do not expire together. Default 0 (exact TTLs); must be in [0, 1).
   */
  public CacheAsideBuilder<K, V> ttlJitter(double jitter) {
    if (!(jitter >= 0.0 && jitter < 1.0)) {
      throw new IllegalArgumentException("ttlJitter must be in [0, 1) but was " + jitter);
    }
    this.ttlJitter = jitter;
    return this;
  }

  /**
   * How long "not found" (an empty loader result) is cached. Default
   * {@link CacheAsideDefaults#NEGATIVE_TTL}, capped at the TTL; {@link Duration#ZERO} caches
   * nothing for absent keys (every read of one loads).
   */
  public CacheAsideBuilder<K, V> negativeTtl(Duration negativeTtl) {
    this.negativeTtl = Arguments.notNegative(negativeTtl, "negativeTtl");
    return this;
  }

  /**
   * How long past its logical expiry a value stays in the store to be served stale: to callers
   * waiting while another refreshes it (stale-while-revalidate) and when the loader fails
   * (stale-if-error). Never served as fresh. Default zero (no stale serving).
   */
  public CacheAsideBuilder<K, V> staleGrace(Duration staleGrace) {
    this.staleGrace = Arguments.notNegative(staleGrace, "staleGrace");
    return this;
  }

  /**
   * Whether misses take a lease in the store (default {@code true}): one load per key across
   * instances and no stale set after a write. Switch off only to compare with plain cache-aside.
   */
  public CacheAsideBuilder<K, V> leases(boolean leases) {
    this.leases = leases;
    return this;
  }

  /**
   * How long a lease lasts if its holder never stores or releases it (a crashed instance).
   * Longer than a slow load; default {@link CacheAsideDefaults#LEASE_TTL}.
   */
  public CacheAsideBuilder<K, V> leaseTtl(Duration leaseTtl) {
    this.leaseTtl = StoreChecks.checkTtl(leaseTtl, "leaseTtl");
    return this;
  }

  /**
   * The most a caller waits for another caller's load before loading itself (without storing).
   * Default {@link CacheAsideDefaults#LEASE_WAIT}; zero means never wait.
   */
  public CacheAsideBuilder<K, V> leaseWait(Duration leaseWait) {
    this.leaseWait = Arguments.notNegative(leaseWait, "leaseWait");
    return this;
  }

  /**
   * The pauses between polls while another caller holds the lease: the first is {@code min},
   * each next one doubles, up to {@code max}. Defaults 5 ms and 100 ms. A store that announces
   * lease ends ({@link CacheStore#leaseEnded}; {@code RedisCacheStore} created from a client
   * does) cuts a pause short when the holder stored or gave up, so waiters answer about when the
   * load ends; the pauses remain the fallback when an announcement is lost.
   */
  public CacheAsideBuilder<K, V> leaseBackoff(Duration min, Duration max) {
    Arguments.checkBackoff(min, max, "leaseBackoff");
    this.leaseBackoffMin = min;
    this.leaseBackoffMax = max;
    return this;
  }

  /**
   * Whether concurrent reads of one key share the cache read too, not only the load (default
   * {@code true}): a hot key then costs one store round trip per wave of callers instead of one
   * per caller. With {@code false}, each caller reads the store itself and only misses are shared.
   */
  public CacheAsideBuilder<K, V> shareReads(boolean shareReads) {
    this.shareReads = shareReads;
    return this;
  }

  /**
   * The largest encoded value that is cached; a larger one is returned to the caller but not
   * stored (counted in {@link dev.cacheaside.core.stats.CacheStats#uncachedValues()}).
   * Default 8 MiB.
   */
  public CacheAsideBuilder<K, V> maxValueBytes(int maxValueBytes) {
    this.maxValueBytes = Arguments.positive(maxValueBytes, "maxValueBytes");
    return this;
  }

  /**
   * The version of the value type's shape, written into every entry. An entry written under
   * another schema version is served around (the loader answers) and left alone, never served
   * with defaults for fields its writer did not have. Raise it when a change of the value type is
   * not compatible: a field whose default the new code must not see, a changed meaning. An added
   * field the old code may ignore needs no new version (the JSON codecs skip unknown fields).
   * Default 0.
   */
  public CacheAsideBuilder<K, V> schemaVersion(int schemaVersion) {
    this.schemaVersion = Arguments.notNegative(schemaVersion, "schemaVersion");
    return this;
  }

  /**
   * How often this instance re-reads the cache's namespace generation (one store read per
   * interval, shared by concurrent callers): the bound on how long another instance's
   * {@link CacheAside#bumpGeneration()} takes to reach this one. Default 1 s.
   */
  public CacheAsideBuilder<K, V> generationRefresh(Duration generationRefresh) {
    this.generationRefresh = StoreChecks.checkTtl(generationRefresh, "generationRefresh");
    return this;
  }

  /**
   * The wall clock that stamps load and expiry times in entries; entries are shared by instances,
   * so it must be wall time. Inject a fake one in tests.
   */
  public CacheAsideBuilder<K, V> clock(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock must not be null");
    return this;
  }

  /**
   * The scheduler for timers (lease-wait backoff). Default {@link Schedulers#parallel()}; a
   * {@code VirtualTimeScheduler} in tests.
   */
  public CacheAsideBuilder<K, V> scheduler(Scheduler scheduler) {
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
    return this;
  }

  /**
   * Refreshes entries in the background before they expire, on hits: {@link EarlyRefresh#xfetch}
   * or {@link EarlyRefresh#ahead}. Default {@link EarlyRefresh#none()}. The hit is answered from
   * the cache at once; the refresh takes the key's lease, so one instance refreshes a key once,
   * and stores only if no invalidation happened meanwhile. A refresh that fails keeps the old
   * value (counted in {@link dev.cacheaside.core.stats.CacheStats#refreshFailures()}) and is
   * retried with backoff (see {@link #refreshBackoff}); the entry still expires at its time. A
   * refresh not done within the lease TTL is abandoned: its lease has lapsed, so it could not
   * store anyway.
   */
  public CacheAsideBuilder<K, V> earlyRefresh(EarlyRefresh earlyRefresh) {
    this.refresh = refresh.withPolicy(Objects.requireNonNull(earlyRefresh,
        "earlyRefresh must not be null"));
    return this;
  }

  /**
   * Where background refreshes start (take the lease and call the loader). Default
   * {@link Schedulers#parallel()}: a loader must not block, here as anywhere. A
   * {@code VirtualTimeScheduler} or {@link Schedulers#immediate()} in tests.
   */
  public CacheAsideBuilder<K, V> refreshScheduler(Scheduler refreshScheduler) {
    this.refresh = refresh.withScheduler(Objects.requireNonNull(refreshScheduler,
        "refreshScheduler must not be null"));
    return this;
  }

  /**
   * After a key's early refresh failed, the next is not tried before {@code min} has passed; each
   * further consecutive failure doubles the pause, up to {@code max}. A success resets it. So a
   * failing database is not hammered by refreshes; the entry is served until its expiry either
   * way. Defaults 1 s and 1 min.
   */
  public CacheAsideBuilder<K, V> refreshBackoff(Duration min, Duration max) {
    Arguments.checkBackoff(min, max, "refreshBackoff");
    this.refresh = refresh.withBackoff(min, max);
    return this;
  }

  /**
   * How {@link CacheAside#cacheAsideAll} cuts its key stream into windows: a window closes when it
   * holds {@code maxKeys} keys or {@code maxTime} after its first key, whichever comes first (or
   * when the key stream completes). Each window costs one multi-get. Defaults 500 keys and 10 ms.
   */
  public CacheAsideBuilder<K, V> bulkWindow(int maxKeys, Duration maxTime) {
    this.bulk = bulk.withWindow(Arguments.positive(maxKeys, "bulkWindow maxKeys"),
        StoreChecks.checkTtl(maxTime, "bulkWindow maxTime"));
    return this;
  }

  /**
   * The most keys one {@link BulkLoader} call is given; a window's misses are split into chunks
   * of at most this many (a database's limit on {@code = ANY($1)} arrays or statement size).
   * Chunks of a window load concurrently. Default 500.
   */
  public CacheAsideBuilder<K, V> bulkMaxLoadChunk(int maxKeys) {
    this.bulk = bulk.withMaxLoadChunk(Arguments.positive(maxKeys, "bulkMaxLoadChunk"));
    return this;
  }

  /**
   * How many windows of one {@link CacheAside#cacheAsideAll} are in flight at a time (reading,
   * loading or waiting to be consumed); with the window size it bounds what a slow consumer makes
   * the stream buffer. Default 4.
   */
  public CacheAsideBuilder<K, V> bulkConcurrency(int windows) {
    this.bulk = bulk.withConcurrency(Arguments.positive(windows, "bulkConcurrency"));
    return this;
  }

  /**
   * What a failed load does to a {@link CacheAside#cacheAsideAll} stream. With {@code false}
   * (the default) it fails only its own keys: each is answered with a {@link BulkResult} holding
   * the error, and the stream goes on. With {@code true} the stream ends with the first such
   * error (windows already started still finish in the background and release their leases).
   * Either way nothing of a failed load is cached.
   */
  public CacheAsideBuilder<K, V> bulkFailOnLoadError(boolean failStream) {
    this.bulk = bulk.withFailOnLoadError(failStream);
    return this;
  }

  /**
   * Wraps every loader call (single and bulk): a bulkhead capping concurrent database loads, a
   * time limit. The loader function is called only once the decorated Mono subscribes to it; a
   * failure of the decorated Mono is a load failure (not cached, stale-if-error applies). Default
   * {@link LoadDecorator#NONE}.
   */
  public CacheAsideBuilder<K, V> loadDecorator(LoadDecorator loadDecorator) {
    this.loadDecorator = Objects.requireNonNull(loadDecorator, "loadDecorator must not be null");
    return this;
  }

  /**
   * The longest a load may take, from the moment it is sent (a wait for a {@link LoadDecorator}'s
   * permit included) to its value: past it the load fails with a {@code TimeoutException} for
   * every caller waiting on it (served stale within {@link #staleGrace}), its lease and its permit
   * are given back, and nothing is cached. A bulk load is bounded per chunk. Default: the lease
   * TTL, since a load that outlives its lease cannot store its result anyway.
   */
  public CacheAsideBuilder<K, V> loadTimeout(Duration loadTimeout) {
    this.loadTimeout = StoreChecks.checkTtl(loadTimeout, "loadTimeout");
    return this;
  }

  /**
   * What becomes of a read when every caller waiting for it has cancelled. Default
   * {@link CacheAsideDefaults#ABANDONED_READS}.
   */
  public CacheAsideBuilder<K, V> abandonedReads(AbandonedReads abandonedReads) {
    this.abandonedReads = Objects.requireNonNull(abandonedReads,
        "abandonedReads must not be null");
    return this;
  }

  /**
   * The longest a single store call may take before the cache treats it as failed (a read: a
   * miss answered by the loader; a store: nothing stored). A backstop for a store whose client
   * has no timeout of its own (Lettuce's default command timeout is a minute), so that a frozen
   * or unreachable cache costs each read a bounded time; it is enforced by one timer per cache
   * (the hit path schedules nothing). Set the client's own timeout lower when you have one.
   * Default {@link CacheAsideDefaults#STORE_TIMEOUT}.
   */
  public CacheAsideBuilder<K, V> storeTimeout(Duration storeTimeout) {
    this.storeTimeout = StoreChecks.checkTtl(storeTimeout, "storeTimeout");
    return this;
  }

  /**
   * How {@link CacheAside#writeThenInvalidate} retries an invalidation that failed after its
   * write succeeded, before it counts it in
   * {@link dev.cacheaside.core.stats.CacheStats#invalidationFailures()}, logs it and gives up
   * (the write's result is still emitted). Default {@link InvalidationRetry#DEFAULT}.
   */
  public CacheAsideBuilder<K, V> invalidationRetry(InvalidationRetry retry) {
    this.invalidationRetry = Objects.requireNonNull(retry, "invalidationRetry must not be null");
    return this;
  }

  /**
   * A near cache: a local tier in this JVM in front of the store, off by default (see
   * {@link NearCache}). The store must have an invalidation stream
   * ({@code CacheStore.invalidations}: {@code RedisCacheStore} with its pub/sub connection,
   * {@code InMemoryCacheStore}); {@link #build()} fails otherwise.
   */
  public CacheAsideBuilder<K, V> nearCache(NearCache nearCache) {
    // The last call wins, as for every other option: Spring applies defaults, then a cache's own.
    this.nearCache = Objects.requireNonNull(nearCache, "nearCache must not be null");
    return this;
  }

  /**
   * Builds the cache.
   *
   * @throws IllegalStateException if the store or the codec is missing, options clash, or a near
   *     cache was asked of a store without an invalidation stream
   */
  public CacheAside<K, V> build() {
    CacheSettings<K, V> settings = new CacheSettings<>(name, required(store, "store"),
        required(codec, "codec"), keyFormat != null ? keyFormat : String::valueOf, ttl, ttlJitter,
        negativeTtl != null ? negativeTtl : CacheSettings.defaultNegativeTtl(ttl), staleGrace,
        leases, leaseTtl, leaseWait, leaseBackoffMin, leaseBackoffMax, shareReads, maxValueBytes,
        schemaVersion, generationRefresh, clock, scheduler, loadDecorator,
        loadTimeout != null ? loadTimeout : leaseTtl, abandonedReads, storeTimeout,
        invalidationRetry, bulk, refresh, nearCache);
    return new DefaultCacheAside<>(settings);
  }

  private <T> T required(@Nullable T option, String what) {
    if (option == null) {
      throw new IllegalStateException("cache '" + name + "': " + what + "(...) is required");
    }
    return option;
  }
}
