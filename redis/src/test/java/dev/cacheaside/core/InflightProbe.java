package dev.cacheaside.core;

/**
 * Lets the Redis module's tests see the size of a cache's in-flight map (package-private in
 * core), to check that cancelled bulk reads leave nothing behind.
 */
public final class InflightProbe {
  private InflightProbe() {}

  /** Reads in flight in {@code cache}'s JVM-local map. */
  public static int inflight(CacheAside<?, ?> cache) {
    return ((DefaultCacheAside<?, ?>) cache).inflightCount();
  }
}
