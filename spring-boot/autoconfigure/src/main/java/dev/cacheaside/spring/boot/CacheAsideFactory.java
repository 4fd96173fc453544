package dev.cacheaside.spring.boot;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.CacheAsideDefaults;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.core.NearCache;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.jackson.JacksonCodec;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.ObjectMapper;

/**
 * Builds {@link CacheAside}s on the application's store with their {@code cache-aside.*}
 * settings: what the cache manager uses for its caches, and what an application uses for caches
 * of its own.
 *
 * <pre>{@code
 * @Bean
 * CacheAside<Long, Product> products(CacheAsideFactory caches) {
 *   return caches.builder("products", Product.class)   // cache-aside.caches.products.*
 *       .loadDecorator(LoadBulkhead.of("catalog-db"))
 *       .build();
 * }
 * }</pre>
 *
 * <p>A {@code CacheAside} bean is made transaction-aware by the auto-configuration (see
 * {@link TransactionAwareCacheAside}) and its metrics are published in Spring's cache
 * conventions.
 *
 * @since 0.1
 */
public final class CacheAsideFactory {
  private final CacheStore store;
  private final ObjectMapper mapper;
  private final CacheAsideProperties.CacheSpec defaults;
  private final Map<String, CacheAsideProperties.CacheSpec> caches;
  private final List<CacheAsideCustomizer> customizers;

  /**
   * A factory on {@code store}; values of {@link #builder(String, Class)} are JSON by
   * {@code mapper}; {@code defaults} and {@code caches} are the {@code cache-aside.defaults} and
   * {@code cache-aside.caches} settings; {@code customizers} run last, in order.
   */
  public CacheAsideFactory(CacheStore store, ObjectMapper mapper,
      CacheAsideProperties.CacheSpec defaults, Map<String, CacheAsideProperties.CacheSpec> caches,
      List<CacheAsideCustomizer> customizers) {
    this.store = Objects.requireNonNull(store, "store must not be null");
    this.mapper = Objects.requireNonNull(mapper, "mapper must not be null");
    this.defaults = Objects.requireNonNull(defaults, "defaults must not be null");
    this.caches = Map.copyOf(caches);
    this.customizers = List.copyOf(customizers);
    // Bad values fail at start-up, each naming its property, not at a cache's first use.
    settings(null, defaults, "cache-aside.defaults");
    caches.forEach((name, spec) -> settings(null, spec, "cache-aside.caches." + name));
  }

  /** The store every cache of this factory uses. */
  public CacheStore store() {
    return store;
  }

  /** A builder for {@code name} with JSON values of {@code type} (the application's mapper). */
  public <K, V> CacheAsideBuilder<K, V> builder(String name, Class<V> type) {
    return builder(name, JacksonCodec.of(type, mapper));
  }

  /**
   * A builder for {@code name} with {@code codec}: the store, then {@code cache-aside.defaults.*},
   * then {@code cache-aside.caches.<name>.*}, then the customizers, applied in that order; the
   * caller may change anything before {@code build()}.
   */
  public <K, V> CacheAsideBuilder<K, V> builder(String name, Codec<V> codec) {
    CacheAsideBuilder<K, V> builder = CacheAside.<K, V>builder(name).store(store).codec(codec);
    settings(builder, defaults, "cache-aside.defaults");
    CacheAsideProperties.CacheSpec own = caches.get(name);
    if (own != null) {
      settings(builder, own, "cache-aside.caches." + name);
    }
    for (CacheAsideCustomizer customizer : customizers) {
      customizer.customize(name, builder);
    }
    return builder;
  }

  /**
   * Applies {@code spec} to {@code builder} (to a throwaway builder when null, only to check it),
   * turning every refusal into an {@link IllegalStateException} that names the property.
   */
  private static void settings(@Nullable CacheAsideBuilder<?, ?> target,
      CacheAsideProperties.CacheSpec spec, String prefix) {
    CacheAsideBuilder<?, ?> builder = target != null ? target : CacheAside.builder("check");
    set(prefix, "ttl", spec.getTtl(), builder::ttl);
    set(prefix, "ttl-jitter", spec.getTtlJitter(), builder::ttlJitter);
    set(prefix, "negative-ttl", spec.getNegativeTtl(), builder::negativeTtl);
    set(prefix, "stale-grace", spec.getStaleGrace(), builder::staleGrace);
    set(prefix, "leases", spec.getLeases(), builder::leases);
    set(prefix, "lease-ttl", spec.getLeaseTtl(), builder::leaseTtl);
    set(prefix, "lease-wait", spec.getLeaseWait(), builder::leaseWait);
    set(prefix, "early-refresh", spec.getEarlyRefresh(),
        text -> builder.earlyRefresh(earlyRefresh(text)));
    if (spec.getBulkWindowSize() != null || spec.getBulkWindowTime() != null) {
      set(prefix, "bulk-window-size", spec.getBulkWindowSize(), size -> builder.bulkWindow(size,
          spec.getBulkWindowTime() != null ? spec.getBulkWindowTime()
              : CacheAsideDefaults.BULK_WINDOW_TIME));
      set(prefix, "bulk-window-time", spec.getBulkWindowTime(), time -> builder.bulkWindow(
          spec.getBulkWindowSize() != null ? spec.getBulkWindowSize()
              : CacheAsideDefaults.BULK_WINDOW_SIZE, time));
    }
    set(prefix, "schema-version", spec.getSchemaVersion(), builder::schemaVersion);
    set(prefix, "load-timeout", spec.getLoadTimeout(), builder::loadTimeout);
    set(prefix, "store-timeout", spec.getStoreTimeout(), builder::storeTimeout);
    set(prefix, "abandoned-reads", spec.getAbandonedReads(), builder::abandonedReads);
    set(prefix, "generation-refresh", spec.getGenerationRefresh(), builder::generationRefresh);
    if (spec.getNearCacheMaxTtl() != null && spec.getNearCacheEntries() == null) {
      throw new IllegalStateException(prefix + ".near-cache-max-ttl=" + spec.getNearCacheMaxTtl()
          + " is refused: it needs " + prefix + ".near-cache-entries (the near cache's size)");
    }
    set(prefix, "near-cache-entries", spec.getNearCacheEntries(), entries -> {
      NearCache near = NearCache.ofEntries(entries);
      builder.nearCache(spec.getNearCacheMaxTtl() != null
          ? near.withMaxTtl(spec.getNearCacheMaxTtl()) : near);
    });
    set(prefix, "max-value-bytes", spec.getMaxValueBytes(), size -> {
      if (size.toBytes() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("at most " + Integer.MAX_VALUE + " bytes, was " + size);
      }
      builder.maxValueBytes((int) size.toBytes());
    });
  }

  private static <T> void set(String prefix, String property, @Nullable T value, Consumer<T> setter) {
    if (value == null) {
      return;
    }
    try {
      setter.accept(value);
    } catch (RuntimeException e) {
      throw new IllegalStateException(prefix + "." + property + "=" + value + " is refused: "
          + e.getMessage(), e);
    }
  }

  /** {@code none}, {@code xfetch:BETA} or {@code ahead:FRACTION}. */
  static EarlyRefresh earlyRefresh(String text) {
    String value = text.trim().toLowerCase(Locale.ROOT);
    if (value.equals("none")) {
      return EarlyRefresh.none();
    }
    int colon = value.indexOf(':');
    String kind = colon < 0 ? value : value.substring(0, colon);
    if (colon < 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException("expected none, xfetch:BETA or ahead:FRACTION");
    }
    double parameter;
    try {
      parameter = Double.parseDouble(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + value.substring(colon + 1) + "' is not a number");
    }
    return switch (kind) {
      case "xfetch" -> EarlyRefresh.xfetch(parameter);
      case "ahead" -> EarlyRefresh.ahead(parameter);
      default -> throw new IllegalArgumentException(
          "unknown policy '" + kind + "'; expected none, xfetch:BETA or ahead:FRACTION");
    };
  }
}
