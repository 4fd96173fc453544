/**
 * Keeps a cache-aside service answering when its cache or its database fails, and loses no
 * invalidation on the way (DESIGN.md, "Resilience"), on Resilience4j.
 *
 * <ul>
 *   <li>{@link dev.cacheaside.resilience.ResilientCacheStore} decorates any
 *       {@link dev.cacheaside.core.spi.CacheStore}: a time limit per call and a circuit breaker, so a
 *       slow or dead cache becomes a miss at once; invalidations that cannot reach the cache are
 *       queued and replayed when it answers again, or covered by a namespace generation bump.</li>
 *   <li>{@link dev.cacheaside.resilience.LoadBulkhead} caps concurrent database loads, with a
 *       bounded, non-blocking wait; set it with
 *       {@link dev.cacheaside.core.CacheAsideBuilder#loadDecorator}.</li>
 *   <li>{@link dev.cacheaside.resilience.ResilienceMetrics} publishes both to Micrometer.
 *       Stale-if-error lives in the core
 *       ({@link dev.cacheaside.core.CacheAsideBuilder#staleGrace}); its serves are
 *       {@code cache.gets{result=stale_hit}} of
 *       {@link dev.cacheaside.core.stats.CacheAsideMetrics}.</li>
 * </ul>
 */
@NullMarked
package dev.cacheaside.resilience;

import org.jspecify.annotations.NullMarked;
