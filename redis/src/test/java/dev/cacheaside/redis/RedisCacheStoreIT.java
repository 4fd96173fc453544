package dev.cacheaside.redis;

import dev.cacheaside.testing.RedisClusterExtension;
import dev.cacheaside.testing.RedisExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.extension.ExtendWith;

/** The store contract and the Redis specifics, on a standalone server and on a cluster. */
class RedisCacheStoreIT {

  @Nested
  @ExtendWith(RedisExtension.class)
  class Standalone extends RedisCacheStoreContract {
    @BeforeEach
    void open(RedisClient client) {
      fixture = RedisFixture.standalone(client);
    }
  }

  @Nested
  @ExtendWith(RedisClusterExtension.class)
  class Cluster extends RedisCacheStoreContract {
    @BeforeEach
    void open(RedisClusterClient client) {
      fixture = RedisFixture.cluster(client);
    }
  }
}
