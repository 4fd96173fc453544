/**
 * Spring Boot auto-configuration for cache-aside: a Redis {@link dev.cacheaside.core.spi.CacheStore}
 * from {@code spring.data.redis.*}, per-cache properties ({@code cache-aside.*}), a
 * {@link org.springframework.cache.CacheManager} whose caches serve {@code @Cacheable} on methods
 * returning {@code Mono} and {@code Flux} through {@code CacheAside}, invalidation after the
 * surrounding transaction commits, and health and metrics in Spring's conventions.
 *
 * <p>The public types are the ones an application may name (to override a bean, or to use the
 * cache manager or the transaction-aware decorator without Boot); the others are package-private
 * and may change in any release.
 */
@NullMarked
package dev.cacheaside.spring.boot;

import org.jspecify.annotations.NullMarked;
