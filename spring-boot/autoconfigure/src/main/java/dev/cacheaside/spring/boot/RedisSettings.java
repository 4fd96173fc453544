package dev.cacheaside.spring.boot;

import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Spring Boot's {@code spring.data.redis.*} settings, bound here with Boot's names and defaults.
 * They are read without Spring Data Redis's auto-configuration module, which a starter for a cache
 * must not bring: it would add a second Redis client and a Redis health indicator that takes the
 * application's health DOWN whenever the cache is away.
 */
record RedisSettings(
    @Nullable String url,
    @DefaultValue("localhost") String host,
    @DefaultValue("6379") int port,
    int database,
    @Nullable String username,
    @Nullable String password,
    @Nullable Duration timeout,
    @Nullable Duration connectTimeout,
    @Nullable String clientName,
    @Nullable Ssl ssl,
    @Nullable Sentinel sentinel,
    @Nullable Cluster cluster,
    @Nullable Lettuce lettuce) {

  static RedisSettings bind(Binder binder) {
    return binder.bindOrCreate("spring.data.redis", Bindable.of(RedisSettings.class));
  }

  boolean sslEnabled() {
    return ssl != null && (Boolean.TRUE.equals(ssl.enabled()) || ssl.bundle() != null);
  }

  /** {@code spring.data.redis.ssl.*}. */
  record Ssl(@Nullable Boolean enabled, @Nullable String bundle) {}

  /** {@code spring.data.redis.sentinel.*}. */
  record Sentinel(@Nullable String master, @Nullable List<String> nodes, @Nullable String username,
      @Nullable String password) {}

  /** {@code spring.data.redis.cluster.*}. */
  record Cluster(@Nullable List<String> nodes, @Nullable Integer maxRedirects) {}

  /** {@code spring.data.redis.lettuce.*} (the parts a client of our own takes). */
  record Lettuce(@Nullable Duration shutdownTimeout, @Nullable LettuceCluster cluster) {}

  /** {@code spring.data.redis.lettuce.cluster.*}. */
  record LettuceCluster(@Nullable Refresh refresh) {}

  /** {@code spring.data.redis.lettuce.cluster.refresh.*}. */
  record Refresh(@DefaultValue("true") boolean dynamicRefreshSources, @Nullable Duration period,
      boolean adaptive) {}
}
