/**
 * What a cache counts: the {@link dev.cacheaside.core.stats.CacheStats} snapshot that
 * {@code CacheAside.stats()} returns, and its Micrometer binder.
 */
@NullMarked
package dev.cacheaside.core.stats;

import org.jspecify.annotations.NullMarked;
