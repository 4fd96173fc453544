/**
 * A {@link dev.cacheaside.core.CacheStore} on Redis through Lettuce's reactive API:
 * {@link dev.cacheaside.redis.RedisCacheStore}, for standalone Redis, Sentinel-managed Redis and
 * Redis Cluster. Everything but {@code RedisCacheStore} is package-private implementation and may
 * change in any release.
 */
@NullMarked
package dev.cacheaside.redis;

import org.jspecify.annotations.NullMarked;
