/**
 * The catalog's handlers as Spring WebFlux functional endpoints ({@code RouterFunction}) on
 * Reactor Netty, without Spring Boot; the work is {@link dev.cacheaside.examples.catalog.Catalog}'s.
 */
@NullMarked
package dev.cacheaside.examples.webflux;

import org.jspecify.annotations.NullMarked;
