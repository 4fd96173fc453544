/**
 * A streaming batch job: order lines enriched with product data through
 * {@code CacheAside.cacheAsideAll}, with the database queries it needed counted.
 */
@NullMarked
package dev.cacheaside.examples.batch;

import org.jspecify.annotations.NullMarked;
