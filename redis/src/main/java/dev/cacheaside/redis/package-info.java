/**
 * A {@link dev.cacheaside.core.spi.CacheStore} on Redis through Lettuce's reactive API:
 * {@link dev.cacheaside.redis.RedisCacheStore}, for standalone Redis, Sentinel-managed Redis and
 * Redis Cluster, configured with {@link dev.cacheaside.redis.RedisCacheStoreBuilder}. Everything
 * else (but the BlockHound integration, which its service loader needs public) is package-private
 * implementation and may change in any release.
 */
@NullMarked
package dev.cacheaside.redis;

import org.jspecify.annotations.NullMarked;
