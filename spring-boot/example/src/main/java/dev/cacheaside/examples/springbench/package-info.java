/**
 * The Spring Boot benchmark: one endpoint served through {@code @Cacheable} with the starter,
 * through Spring Data Redis's {@code RedisCacheManager}, and through {@code cacheAside} called
 * directly, side by side in one run.
 */
@NullMarked
package dev.cacheaside.examples.springbench;

import org.jspecify.annotations.NullMarked;
