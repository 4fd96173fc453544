package dev.cacheaside.spring.boot;

import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.util.StringUtils;

/**
 * A raw Lettuce client from Boot's Redis settings, with the options a cache wants (see README,
 * "When Redis or PostgreSQL fails"): commands rejected at once while disconnected (not buffered
 * until a reconnect), a reconnect delay capped near 1 s (not Lettuce's 30 s), and a command
 * timeout. The library needs the raw client ({@code RedisClient} or {@code RedisClusterClient}):
 * Spring Data Redis's connection factory does not expose one.
 */
final class LettuceClients {
  private LettuceClients() {}

  static ClientResources resources(CacheAsideProperties.Redis redis) {
    return ClientResources.builder()
        .reconnectDelay(Delay.exponential(Duration.ofMillis(10), redis.getReconnectDelayMax(), 2,
            TimeUnit.MILLISECONDS))
        .build();
  }

  static AbstractRedisClient client(RedisSettings settings, CacheAsideProperties.Redis redis,
      ClientResources resources, @Nullable SslBundles bundles) {
    Duration timeout = settings.timeout() != null ? settings.timeout() : redis.getCommandTimeout();
    SslBundle bundle = bundle(settings, bundles);
    if (settings.cluster() != null && settings.cluster().nodes() != null
        && !settings.cluster().nodes().isEmpty()) {
      List<RedisURI> seeds = new ArrayList<>();
      for (String node : settings.cluster().nodes()) {
        HostPort hostPort = HostPort.parse(node, "spring.data.redis.cluster.nodes");
        seeds.add(credentials(RedisURI.builder().withHost(hostPort.host()).withPort(hostPort.port()),
            settings.username(), settings.password())
            .withSsl(settings.sslEnabled()).withTimeout(timeout)
            .build());
      }
      seeds.forEach(uri -> clientName(uri, settings));
      RedisClusterClient client = RedisClusterClient.create(resources, seeds);
      ClusterTopologyRefreshOptions.Builder refresh = ClusterTopologyRefreshOptions.builder();
      RedisSettings.Refresh refreshSettings = settings.lettuce() == null
          || settings.lettuce().cluster() == null ? null : settings.lettuce().cluster().refresh();
      if (refreshSettings != null) {
        refresh.dynamicRefreshSources(refreshSettings.dynamicRefreshSources());
        if (refreshSettings.period() != null) {
          refresh.enablePeriodicRefresh(refreshSettings.period());
        }
        if (refreshSettings.adaptive()) {
          refresh.enableAllAdaptiveRefreshTriggers();
        }
      }
      ClusterClientOptions.Builder options = ClusterClientOptions.builder()
          .topologyRefreshOptions(refresh.build());
      if (settings.cluster().maxRedirects() != null) {
        options.maxRedirects(settings.cluster().maxRedirects());
      }
      common(options, settings, redis, timeout, bundle);
      client.setOptions(options.build());
      return client;
    }
    RedisClient client = RedisClient.create(resources, uri(settings, timeout));
    ClientOptions.Builder options = ClientOptions.builder();
    common(options, settings, redis, timeout, bundle);
    client.setOptions(options.build());
    return client;
  }

  /** The standalone or Sentinel URI, as Boot's Lettuce factory reads the same settings. */
  static RedisURI uri(RedisSettings settings, Duration timeout) {
    RedisURI uri;
    if (settings.sentinel() != null && settings.sentinel().master() != null) {
      RedisSettings.Sentinel sentinel = settings.sentinel();
      RedisURI.Builder builder = RedisURI.builder().withSentinelMasterId(sentinel.master());
      for (String node : sentinel.nodes() == null ? List.<String>of() : sentinel.nodes()) {
        HostPort hostPort = HostPort.parse(node, "spring.data.redis.sentinel.nodes");
        builder.withSentinel(credentials(RedisURI.builder().withHost(hostPort.host())
                .withPort(hostPort.port()), sentinel.username(), sentinel.password())
            .withSsl(settings.sslEnabled()).build());
      }
      uri = credentials(builder, settings.username(), settings.password())
          .withDatabase(settings.database()).withSsl(settings.sslEnabled()).withTimeout(timeout)
          .build();
    } else if (StringUtils.hasText(settings.url())) {
      // Boot: the URL (redis:// or rediss://, with user, password and database) wins over
      // host, port, username, password and database.
      uri = RedisURI.create(settings.url());
      uri.setTimeout(timeout);
      if (settings.sslEnabled()) {
        uri.setSsl(true);
      }
    } else {
      uri = credentials(RedisURI.builder().withHost(settings.host()).withPort(settings.port()),
          settings.username(), settings.password())
          .withDatabase(settings.database()).withSsl(settings.sslEnabled()).withTimeout(timeout)
          .build();
    }
    clientName(uri, settings);
    return uri;
  }

  private static RedisURI.Builder credentials(RedisURI.Builder builder, @Nullable String username,
      @Nullable String password) {
    if (password == null) {
      return builder;
    }
    return StringUtils.hasText(username) ? builder.withAuthentication(username, password)
        : builder.withPassword(password.toCharArray());
  }

  private static void clientName(RedisURI uri, RedisSettings settings) {
    if (StringUtils.hasText(settings.clientName())) {
      uri.setClientName(settings.clientName());
    }
  }

  private static void common(ClientOptions.Builder options, RedisSettings settings,
      CacheAsideProperties.Redis redis, Duration timeout, @Nullable SslBundle bundle) {
    options.autoReconnect(true)
        .disconnectedBehavior(redis.isRejectWhileDisconnected()
            ? ClientOptions.DisconnectedBehavior.REJECT_COMMANDS
            : ClientOptions.DisconnectedBehavior.DEFAULT)
        .timeoutOptions(TimeoutOptions.enabled(timeout));
    if (settings.connectTimeout() != null) {
      options.socketOptions(SocketOptions.builder().connectTimeout(settings.connectTimeout()).build());
    }
    if (bundle != null) {
      // as Boot's Lettuce factory maps an SSL bundle
      SslOptions.Builder ssl = SslOptions.builder()
          .keyManager(bundle.getManagers().getKeyManagerFactory())
          .trustManager(bundle.getManagers().getTrustManagerFactory());
      if (bundle.getOptions().getCiphers() != null) {
        ssl.cipherSuites(bundle.getOptions().getCiphers());
      }
      if (bundle.getOptions().getEnabledProtocols() != null) {
        ssl.protocols(bundle.getOptions().getEnabledProtocols());
      }
      options.sslOptions(ssl.build());
    }
  }

  private static @Nullable SslBundle bundle(RedisSettings settings, @Nullable SslBundles bundles) {
    if (settings.ssl() == null || settings.ssl().bundle() == null) {
      return null;
    }
    if (bundles == null) {
      throw new IllegalStateException("spring.data.redis.ssl.bundle=" + settings.ssl().bundle()
          + " names an SSL bundle, but the application has no SslBundles");
    }
    return bundles.getBundle(settings.ssl().bundle());
  }

  /** {@code host:port}, with IPv6 hosts in brackets or not. */
  record HostPort(String host, int port) {
    static HostPort parse(String node, String property) {
      int colon = node.lastIndexOf(':');
      if (colon <= 0 || colon == node.length() - 1) {
        throw new IllegalStateException(property + ": '" + node + "' is not host:port");
      }
      String host = node.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      try {
        return new HostPort(host, Integer.parseInt(node.substring(colon + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalStateException(property + ": '" + node + "' has no numeric port");
      }
    }
  }
}
