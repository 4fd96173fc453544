package dev.cacheaside.core;

import java.time.Duration;

/**
 * The defaults of {@link CacheAsideBuilder}'s options, as constants, so that code deriving its
 * own settings from them (a decorator's settle time, a Spring property's default) stays in step.
 *
 * @since 0.1
 */
public final class CacheAsideDefaults {
  /** The default time to live of a loaded value. */
  public static final Duration TTL = Duration.ofMinutes(10);
  /** The default time to live of a "not found" entry (capped at the TTL). */
  public static final Duration NEGATIVE_TTL = Duration.ofSeconds(30);
  /** The default lease time to live: how long a vanished lease holder blocks others from loading. */
  public static final Duration LEASE_TTL = Duration.ofSeconds(5);
  /** The default bound on how long a caller waits for another instance's load. */
  public static final Duration LEASE_WAIT = Duration.ofSeconds(1);
  /** The default first pause between polls while another caller holds the lease. */
  public static final Duration LEASE_BACKOFF_MIN = Duration.ofMillis(5);
  /** The default longest pause between polls while another caller holds the lease. */
  public static final Duration LEASE_BACKOFF_MAX = Duration.ofMillis(100);
  /** The default largest encoded value that is cached; larger values are served but not cached. */
  public static final int MAX_VALUE_BYTES = 8 * 1024 * 1024;
  /** The default interval at which an instance re-reads the namespace generation. */
  public static final Duration GENERATION_REFRESH = Duration.ofSeconds(1);
  /** The default pause before a key's early refresh is tried again after it failed. */
  public static final Duration REFRESH_BACKOFF_MIN = Duration.ofSeconds(1);
  /** The default longest pause between early refresh attempts of a key that keep failing. */
  public static final Duration REFRESH_BACKOFF_MAX = Duration.ofMinutes(1);
  /** The default largest number of keys in one window of {@link CacheAside#cacheAsideAll}. */
  public static final int BULK_WINDOW_SIZE = 500;
  /** The default longest time a window of {@link CacheAside#cacheAsideAll} stays open. */
  public static final Duration BULK_WINDOW_TIME = Duration.ofMillis(10);
  /** The default largest number of keys given to one call of a {@link BulkLoader}. */
  public static final int BULK_MAX_LOAD_CHUNK = 500;
  /** The default number of windows of one {@link CacheAside#cacheAsideAll} in flight at a time. */
  public static final int BULK_CONCURRENCY = 4;

  /**
   * The default bound on one store call ({@link CacheAsideBuilder#storeTimeout}): a backstop for
   * a store whose client has no timeout of its own, not a latency target.
   */
  public static final Duration STORE_TIMEOUT = Duration.ofSeconds(2);

  /**
   * What becomes of a read that every caller has abandoned
   * ({@link CacheAsideBuilder#abandonedReads}).
   */
  public static final AbandonedReads ABANDONED_READS = AbandonedReads.CANCEL_UNSTARTED;

  private CacheAsideDefaults() {}
}
