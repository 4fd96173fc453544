package dev.cacheaside.redis;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.testkit.CacheAsideScenarios;
import dev.cacheaside.core.testkit.ClockedStore;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.RedisClusterExtension;
import dev.cacheaside.testing.RedisExtension;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Core's scenario suite on Redis, standalone and cluster: each instance of a test is a
 * {@link RedisCacheStore} on connections of its own, sharing nothing with the others but the
 * server (emptied before each test by the extension), and telling the test's clock as the store's
 * ({@link ClockedStore}).
 */
class RedisScenariosIT {

  /** The stores a test opened, closed after it. */
  abstract static class OnRedis extends CacheAsideScenarios {
    private final List<RedisCacheStore> stores = new ArrayList<>();

    abstract Topology topology();

    @Override
    protected CacheStore instanceStore(Clock clock) {
      RedisCacheStore store = topology().newStore();
      stores.add(store);
      // The scenarios move a fake clock; Redis's own clock (TIME) would not follow it.
      return ClockedStore.of(store, clock);
    }

    @AfterEach
    void closeStores() {
      stores.forEach(RedisCacheStore::close);
    }
  }

  @Nested
  @ExtendWith(RedisExtension.class)
  class Standalone extends OnRedis {
    @Override
    Topology topology() {
      return Topology.STANDALONE;
    }
  }

  @Nested
  @ExtendWith(RedisClusterExtension.class)
  class Cluster extends OnRedis {
    @Override
    Topology topology() {
      return Topology.CLUSTER;
    }
  }
}
