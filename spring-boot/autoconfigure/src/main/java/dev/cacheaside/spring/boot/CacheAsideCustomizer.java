package dev.cacheaside.spring.boot;

import dev.cacheaside.core.CacheAsideBuilder;

/**
 * Changes the builder of every cache the {@link CacheAsideFactory} builds (the cache manager's
 * and the application's own), after the properties were applied: for what properties cannot
 * say, such as a load decorator or a clock. Beans of this type are applied in their order.
 *
 * <pre>{@code
 * @Bean
 * CacheAsideCustomizer bulkhead() {
 *   LoadBulkhead db = LoadBulkhead.of("catalog-db");
 *   return (name, builder) -> builder.loadDecorator(db);
 * }
 * }</pre>
 *
 * @since 0.1
 */
@FunctionalInterface
public interface CacheAsideCustomizer {
  /** Customizes the builder of the cache named {@code name}. */
  void customize(String name, CacheAsideBuilder<?, ?> builder);
}
