/**
 * Reactive cache-aside for Project Reactor: the API.
 *
 * <p>The entry point is {@link dev.cacheaside.core.CacheAside#builder(String)}. A
 * {@link dev.cacheaside.core.spi.CacheStore} holds bytes (Redis, or the in-memory
 * {@link dev.cacheaside.core.spi.InMemoryCacheStore}); a {@link dev.cacheaside.core.Codec} turns
 * values into those bytes. Everything else public in this package is configuration or a value
 * type. Types that are not public are the engine (ARCHITECTURE.md describes its layers) and may
 * change in any release.
 */
@NullMarked
package dev.cacheaside.core;

import org.jspecify.annotations.NullMarked;
