/**
 * A product catalog service on Reactor Netty's {@code HttpServer}, no framework:
 * {@link dev.cacheaside.examples.catalog.Catalog} holds the cache, the loaders, the writes and the
 * validation; {@link dev.cacheaside.examples.catalog.CatalogServer} routes HTTP requests to it;
 * {@link dev.cacheaside.examples.catalog.ProductTable} is the {@code products} table.
 */
@NullMarked
package dev.cacheaside.examples.catalog;

import org.jspecify.annotations.NullMarked;
