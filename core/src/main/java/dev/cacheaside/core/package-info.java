/**
 * Reactive cache-aside for Project Reactor.
 *
 * <p>The entry point is {@link dev.cacheaside.core.CacheAside#builder(String)}. A
 * {@link dev.cacheaside.core.CacheStore} holds bytes (Redis, Memcached, or the in-memory
 * {@link dev.cacheaside.core.InMemoryCacheStore}); a {@link dev.cacheaside.core.Codec} turns
 * values into those bytes. Everything else in this package is configuration or a value type.
 * Types that are not public are implementation and may change in any release.
 */
@NullMarked
package dev.cacheaside.core;

import org.jspecify.annotations.NullMarked;
