/**
 * The storage SPI: what a cache store implements ({@link dev.cacheaside.core.spi.CacheStore}),
 * the answers it gives, the argument checks every store makes alike, a base class for decorators
 * ({@link dev.cacheaside.core.spi.ForwardingCacheStore}) and the in-memory store. Applications
 * pick a store here or in an adapter module; store implementors and decorators build on it.
 */
@NullMarked
package dev.cacheaside.core.spi;

import org.jspecify.annotations.NullMarked;
