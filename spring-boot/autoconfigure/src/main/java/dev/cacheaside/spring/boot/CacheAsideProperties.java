package dev.cacheaside.spring.boot;

import dev.cacheaside.core.AbandonedReads;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.NestedConfigurationProperty;
import org.springframework.util.unit.DataSize;

/**
 * The {@code cache-aside.*} properties. Redis itself is configured with Spring Boot's own
 * {@code spring.data.redis.*} properties; these say what is built on it.
 *
 * <pre>
 * cache-aside.defaults.ttl=10m
 * cache-aside.defaults.ttl-jitter=0.1
 * cache-aside.caches.products.ttl=1h
 * cache-aside.caches.products.early-refresh=xfetch:1.0
 * cache-aside.caches.prices.leases=false
 * </pre>
 *
 * <p>Each cache takes its values from {@code cache-aside.caches.<name>.*}, then from
 * {@code cache-aside.defaults.*}, then from the library's defaults
 * ({@link dev.cacheaside.core.CacheAsideBuilder}). A value the library refuses (a negative
 * duration, a jitter of 1 or more, an unknown early-refresh policy) fails start-up with a message
 * naming the property.
 *
 * @since 0.1
 */
@ConfigurationProperties("cache-aside")
public class CacheAsideProperties {
  /** Whether to auto-configure cache-aside at all. */
  private boolean enabled = true;

  /** Settings every cache starts from; a cache's own settings override them. */
  @NestedConfigurationProperty
  private CacheSpec defaults = new CacheSpec();

  /** Settings per cache name, over the defaults. */
  private Map<String, CacheSpec> caches = new LinkedHashMap<>();

  /** The Redis client built from spring.data.redis.*. */
  private final Redis redis = new Redis();

  /** The resilient store wrapped around Redis. */
  private final Resilience resilience = new Resilience();

  /** Spring's cache abstraction (@Cacheable, @CacheEvict). */
  private final CacheManager cacheManager = new CacheManager();

  /** The health indicator. */
  private final Health health = new Health();

  /** Creates the properties with their defaults (for Spring's binder). */
  public CacheAsideProperties() {}

  /** Whether to auto-configure cache-aside at all. */
  public boolean isEnabled() {
    return enabled;
  }

  /** Sets {@link #isEnabled()}. */
  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  /** Settings every cache starts from. */
  public CacheSpec getDefaults() {
    return defaults;
  }

  /** Sets {@link #getDefaults()}. */
  public void setDefaults(CacheSpec defaults) {
    this.defaults = defaults;
  }

  /** Settings per cache name. */
  public Map<String, CacheSpec> getCaches() {
    return caches;
  }

  /** Sets {@link #getCaches()}. */
  public void setCaches(Map<String, CacheSpec> caches) {
    this.caches = caches;
  }

  /** The Redis client settings. */
  public Redis getRedis() {
    return redis;
  }

  /** The resilient store settings. */
  public Resilience getResilience() {
    return resilience;
  }

  /** The cache manager settings. */
  public CacheManager getCacheManager() {
    return cacheManager;
  }

  /** The health indicator settings. */
  public Health getHealth() {
    return health;
  }

  /**
   * One cache's settings; a setting left out (null) is taken from
   * {@code cache-aside.defaults}, then from the library's default.
   */
  public static class CacheSpec {
    /** How long a loaded value is fresh (library default 10m). */
    private @Nullable Duration ttl;

    /** Spread of each entry's TTL, ttl x (1 +- jitter), in [0, 1) (library default 0). */
    private @Nullable Double ttlJitter;

    /** How long "not found" is cached; 0 caches nothing for absent keys (library default 30s, at most the TTL). */
    private @Nullable Duration negativeTtl;

    /** How long past expiry a value may be served stale: to waiters, and when the loader fails (library default 0). */
    private @Nullable Duration staleGrace;

    /** Whether misses take a lease: one load per key across instances and no stale set after a write (library default true). */
    private @Nullable Boolean leases;

    /** How long a lease blocks others if its holder vanishes (library default 5s). */
    private @Nullable Duration leaseTtl;

    /** The longest a caller waits for another instance's load before loading itself (library default 1s). */
    private @Nullable Duration leaseWait;

    /**
     * Background refresh before expiry: "none", "xfetch:BETA" (e.g. xfetch:1.0) or
     * "ahead:FRACTION" (e.g. ahead:0.8) (library default none).
     */
    private @Nullable String earlyRefresh;

    /** Most keys in one window of cacheAsideAll (library default 500). */
    private @Nullable Integer bulkWindowSize;

    /** Longest time a window of cacheAsideAll stays open (library default 10ms). */
    private @Nullable Duration bulkWindowTime;

    /** Largest encoded value that is cached; larger ones are served, not cached (library default 8MB). */
    private @Nullable DataSize maxValueBytes;

    /**
     * The version of the cached type's shape, written in every entry: raise it when a change is
     * not compatible; entries of another version are misses, left alone (library default 0).
     */
    private @Nullable Integer schemaVersion;

    /** The longest a load may take, a wait for a bulkhead permit included (library default: the lease TTL). */
    private @Nullable Duration loadTimeout;

    /** The longest one store call may take before it counts as failed (library default 2s). */
    private @Nullable Duration storeTimeout;

    /** What becomes of a read every caller gave up on: cancel-unstarted, cancel or finish (library default cancel-unstarted). */
    private @Nullable AbandonedReads abandonedReads;

    /** How often an instance re-reads the cache's generation (library default 1s). */
    private @Nullable Duration generationRefresh;

    /**
     * A near cache (a local tier in each instance, invalidated across instances) holding at most
     * this many entries; unset: no near cache (library default).
     */
    private @Nullable Long nearCacheEntries;

    /** The longest a near-cache copy is served without looking at Redis (library default 1m). */
    private @Nullable Duration nearCacheMaxTtl;

    /** Creates an empty spec (every setting inherited). */
    public CacheSpec() {}

    /** How long a loaded value is fresh. */
    public @Nullable Duration getTtl() {
      return ttl;
    }

    /** Sets {@link #getTtl()}. */
    public void setTtl(@Nullable Duration ttl) {
      this.ttl = ttl;
    }

    /** Spread of each entry's TTL. */
    public @Nullable Double getTtlJitter() {
      return ttlJitter;
    }

    /** Sets {@link #getTtlJitter()}. */
    public void setTtlJitter(@Nullable Double ttlJitter) {
      this.ttlJitter = ttlJitter;
    }

    /** How long "not found" is cached. */
    public @Nullable Duration getNegativeTtl() {
      return negativeTtl;
    }

    /** Sets {@link #getNegativeTtl()}. */
    public void setNegativeTtl(@Nullable Duration negativeTtl) {
      this.negativeTtl = negativeTtl;
    }

    /** How long past expiry a value may be served stale. */
    public @Nullable Duration getStaleGrace() {
      return staleGrace;
    }

    /** Sets {@link #getStaleGrace()}. */
    public void setStaleGrace(@Nullable Duration staleGrace) {
      this.staleGrace = staleGrace;
    }

    /** Whether misses take a lease. */
    public @Nullable Boolean getLeases() {
      return leases;
    }

    /** Sets {@link #getLeases()}. */
    public void setLeases(@Nullable Boolean leases) {
      this.leases = leases;
    }

    /** How long a lease blocks others if its holder vanishes. */
    public @Nullable Duration getLeaseTtl() {
      return leaseTtl;
    }

    /** Sets {@link #getLeaseTtl()}. */
    public void setLeaseTtl(@Nullable Duration leaseTtl) {
      this.leaseTtl = leaseTtl;
    }

    /** The longest a caller waits for another instance's load. */
    public @Nullable Duration getLeaseWait() {
      return leaseWait;
    }

    /** Sets {@link #getLeaseWait()}. */
    public void setLeaseWait(@Nullable Duration leaseWait) {
      this.leaseWait = leaseWait;
    }

    /** Background refresh before expiry. */
    public @Nullable String getEarlyRefresh() {
      return earlyRefresh;
    }

    /** Sets {@link #getEarlyRefresh()}. */
    public void setEarlyRefresh(@Nullable String earlyRefresh) {
      this.earlyRefresh = earlyRefresh;
    }

    /** Most keys in one window of cacheAsideAll. */
    public @Nullable Integer getBulkWindowSize() {
      return bulkWindowSize;
    }

    /** Sets {@link #getBulkWindowSize()}. */
    public void setBulkWindowSize(@Nullable Integer bulkWindowSize) {
      this.bulkWindowSize = bulkWindowSize;
    }

    /** Longest time a window of cacheAsideAll stays open. */
    public @Nullable Duration getBulkWindowTime() {
      return bulkWindowTime;
    }

    /** Sets {@link #getBulkWindowTime()}. */
    public void setBulkWindowTime(@Nullable Duration bulkWindowTime) {
      this.bulkWindowTime = bulkWindowTime;
    }

    /** Largest encoded value that is cached. */
    public @Nullable DataSize getMaxValueBytes() {
      return maxValueBytes;
    }

    /** Sets {@link #getMaxValueBytes()}. */
    public void setMaxValueBytes(@Nullable DataSize maxValueBytes) {
      this.maxValueBytes = maxValueBytes;
    }

    /** The version of the cached type's shape. */
    public @Nullable Integer getSchemaVersion() {
      return schemaVersion;
    }

    /** Sets {@link #getSchemaVersion()}. */
    public void setSchemaVersion(@Nullable Integer schemaVersion) {
      this.schemaVersion = schemaVersion;
    }

    /** The longest a load may take. */
    public @Nullable Duration getLoadTimeout() {
      return loadTimeout;
    }

    /** Sets {@link #getLoadTimeout()}. */
    public void setLoadTimeout(@Nullable Duration loadTimeout) {
      this.loadTimeout = loadTimeout;
    }

    /** The longest one store call may take. */
    public @Nullable Duration getStoreTimeout() {
      return storeTimeout;
    }

    /** Sets {@link #getStoreTimeout()}. */
    public void setStoreTimeout(@Nullable Duration storeTimeout) {
      this.storeTimeout = storeTimeout;
    }

    /** What becomes of a read every caller gave up on. */
    public @Nullable AbandonedReads getAbandonedReads() {
      return abandonedReads;
    }

    /** Sets {@link #getAbandonedReads()}. */
    public void setAbandonedReads(@Nullable AbandonedReads abandonedReads) {
      this.abandonedReads = abandonedReads;
    }

    /** How often an instance re-reads the cache's generation. */
    public @Nullable Duration getGenerationRefresh() {
      return generationRefresh;
    }

    /** Sets {@link #getGenerationRefresh()}. */
    public void setGenerationRefresh(@Nullable Duration generationRefresh) {
      this.generationRefresh = generationRefresh;
    }

    /** The near cache's entry bound; null: no near cache. */
    public @Nullable Long getNearCacheEntries() {
      return nearCacheEntries;
    }

    /** Sets {@link #getNearCacheEntries()}. */
    public void setNearCacheEntries(@Nullable Long nearCacheEntries) {
      this.nearCacheEntries = nearCacheEntries;
    }

    /** The near cache's cap on how long a local copy is served; null: the library's. */
    public @Nullable Duration getNearCacheMaxTtl() {
      return nearCacheMaxTtl;
    }

    /** Sets {@link #getNearCacheMaxTtl()}. */
    public void setNearCacheMaxTtl(@Nullable Duration nearCacheMaxTtl) {
      this.nearCacheMaxTtl = nearCacheMaxTtl;
    }
  }

  /** The Lettuce client built from spring.data.redis.* (the options a cache wants). */
  public static class Redis {
    /**
     * Command timeout when spring.data.redis.timeout is not set: a cache that takes longer than
     * this is better treated as down.
     */
    private Duration commandTimeout = Duration.ofSeconds(1);

    /** Longest pause between reconnect attempts (Lettuce's own default backs off to 30s). */
    private Duration reconnectDelayMax = Duration.ofSeconds(1);

    /** Whether to reject commands at once while disconnected instead of buffering them. */
    private boolean rejectWhileDisconnected = true;

    /** Creates the defaults. */
    public Redis() {}

    /** Command timeout when spring.data.redis.timeout is not set. */
    public Duration getCommandTimeout() {
      return commandTimeout;
    }

    /** Sets {@link #getCommandTimeout()}. */
    public void setCommandTimeout(Duration commandTimeout) {
      this.commandTimeout = commandTimeout;
    }

    /** Longest pause between reconnect attempts. */
    public Duration getReconnectDelayMax() {
      return reconnectDelayMax;
    }

    /** Sets {@link #getReconnectDelayMax()}. */
    public void setReconnectDelayMax(Duration reconnectDelayMax) {
      this.reconnectDelayMax = reconnectDelayMax;
    }

    /** Whether to reject commands while disconnected. */
    public boolean isRejectWhileDisconnected() {
      return rejectWhileDisconnected;
    }

    /** Sets {@link #isRejectWhileDisconnected()}. */
    public void setRejectWhileDisconnected(boolean rejectWhileDisconnected) {
      this.rejectWhileDisconnected = rejectWhileDisconnected;
    }
  }

  /** The ResilientCacheStore around Redis. */
  public static class Resilience {
    /** Whether to wrap the Redis store in a ResilientCacheStore (time limit, circuit breaker, invalidation replay). */
    private boolean enabled = true;

    /** Limit on a store call about one key (library default 250ms). */
    private @Nullable Duration timeLimit;

    /** Limit on a store call about many keys (library default 500ms, or the single-key limit if longer). */
    private @Nullable Duration bulkTimeLimit;

    /** Queued invalidations before a generation bump is owed instead (library default 10000). */
    private @Nullable Integer maxPendingInvalidations;

    /** Creates the defaults. */
    public Resilience() {}

    /** Whether to wrap the Redis store. */
    public boolean isEnabled() {
      return enabled;
    }

    /** Sets {@link #isEnabled()}. */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /** Limit on a store call about one key. */
    public @Nullable Duration getTimeLimit() {
      return timeLimit;
    }

    /** Sets {@link #getTimeLimit()}. */
    public void setTimeLimit(@Nullable Duration timeLimit) {
      this.timeLimit = timeLimit;
    }

    /** Limit on a store call about many keys. */
    public @Nullable Duration getBulkTimeLimit() {
      return bulkTimeLimit;
    }

    /** Sets {@link #getBulkTimeLimit()}. */
    public void setBulkTimeLimit(@Nullable Duration bulkTimeLimit) {
      this.bulkTimeLimit = bulkTimeLimit;
    }

    /** Queued invalidations before a generation bump is owed instead. */
    public @Nullable Integer getMaxPendingInvalidations() {
      return maxPendingInvalidations;
    }

    /** Sets {@link #getMaxPendingInvalidations()}. */
    public void setMaxPendingInvalidations(@Nullable Integer maxPendingInvalidations) {
      this.maxPendingInvalidations = maxPendingInvalidations;
    }
  }

  /** Spring's cache abstraction. */
  public static class CacheManager {
    /** Whether to register a CacheManager whose caches are cache-aside caches. */
    private boolean enabled = true;

    /**
     * Whether a cache not listed under cache-aside.caches is created on first use, with the
     * defaults; false makes such a name an error.
     */
    private boolean dynamic = true;

    /**
     * Whether @Cacheable on a method returning Mono or Flux runs as if sync=true (one load per
     * key, through the cache's lease) when Spring allows it: one cache, no "unless", no other
     * cache annotation on the method.
     */
    private boolean reactiveSync = true;

    /** Creates the defaults. */
    public CacheManager() {}

    /** Whether to register the CacheManager. */
    public boolean isEnabled() {
      return enabled;
    }

    /** Sets {@link #isEnabled()}. */
    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    /** Whether unlisted caches are created on first use. */
    public boolean isDynamic() {
      return dynamic;
    }

    /** Sets {@link #isDynamic()}. */
    public void setDynamic(boolean dynamic) {
      this.dynamic = dynamic;
    }

    /** Whether reactive @Cacheable runs as if sync=true. */
    public boolean isReactiveSync() {
      return reactiveSync;
    }

    /** Sets {@link #isReactiveSync()}. */
    public void setReactiveSync(boolean reactiveSync) {
      this.reactiveSync = reactiveSync;
    }
  }

  /** The health indicator. */
  public static class Health {
    /** How long the health check waits for Redis to answer PING. */
    private Duration pingTimeout = Duration.ofSeconds(1);

    /** Creates the defaults. */
    public Health() {}

    /** How long the health check waits for PING. */
    public Duration getPingTimeout() {
      return pingTimeout;
    }

    /** Sets {@link #getPingTimeout()}. */
    public void setPingTimeout(Duration pingTimeout) {
      this.pingTimeout = pingTimeout;
    }
  }
}
