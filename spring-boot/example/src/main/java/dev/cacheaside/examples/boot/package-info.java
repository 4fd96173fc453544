/**
 * A Spring Boot 4 catalog service on the starter: an annotated WebFlux controller, a Spring Data
 * R2DBC repository, {@code @Cacheable} and {@code @Transactional} + {@code @CacheEvict} in the
 * service, Actuator; and a Caffeine cache beside the cache-aside one.
 */
@NullMarked
package dev.cacheaside.examples.boot;

import org.jspecify.annotations.NullMarked;
