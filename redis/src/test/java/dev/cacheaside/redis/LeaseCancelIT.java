package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.testkit.CacheStoreContract;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.RedisProxy;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * A caller that cancels after Redis granted it a lease but before the reply reached it (a
 * timeout, a client gone) must not leave the lease behind: everyone else would wait for a load
 * nobody does until the lease TTL. The store releases it. Redis's replies go through a proxy
 * that holds them, so the test knows the lease was granted and the caller has not seen it.
 * Standalone only: the cancel path does not depend on the topology, and a proxy in front of a
 * cluster would be bypassed by its redirections.
 */
@ExtendWith(RedisExtension.class)
class LeaseCancelIT {
  /** Far longer than the test: a lease that disappears was released, it did not expire. */
  private static final Duration LEASE_TTL = Duration.ofMinutes(5);
  private static final Duration BOUND = Duration.ofSeconds(10);

  private RedisProxy proxy;
  private RedisClient proxiedClient;
  private StatefulRedisConnection<String, byte[]> direct;
  private RedisCacheStore store;

  @BeforeEach
  void open(TestRedis redis, RedisClient client) throws Exception {
    RedisURI uri = redis.uri();
    proxy = new RedisProxy(uri.getHost(), uri.getPort());
    RedisURI proxied = redis.uri();
    proxied.setHost("127.0.0.1");
    proxied.setPort(proxy.port());
    proxiedClient = RedisClient.create(client.getResources(), proxied);
    store = RedisFixture.storeOn(proxiedClient);
    direct = client.connect(RedisCacheStore.codec());
    // Load the scripts first (the release too): a NOSCRIPT reply held by the proxy would hold
    // back the retry with the script's body.
    StoreLookup warm = CacheStoreContract.await(store.getOrLease("warm-up", LEASE_TTL));
    CacheStoreContract.await(store.releaseLease("warm-up", ((StoreLookup.Granted) warm).token()));
  }

  @AfterEach
  void close() throws Exception {
    proxy.releaseReplies();
    store.close();
    proxiedClient.shutdown();
    direct.close();
    proxy.close();
  }

  private void awaitExists(String redisKey, boolean exists) {
    RedisFixture.poll(redisKey + (exists ? " appearing" : " disappearing"), BOUND,
        () -> direct.reactive().exists(redisKey).map(n -> (n == 1) == exists));
  }

  private void cancelAfterTheServerGranted(Mono<?> leasing, List<String> keys) {
    proxy.holdReplies();
    Disposable caller = leasing.subscribe();
    for (String key : keys) {
      awaitExists(RedisCacheStore.leaseKey(key), true);
    }
    caller.dispose();
    for (String key : keys) {
      awaitExists(RedisCacheStore.leaseKey(key), false);
    }
    proxy.releaseReplies();
  }

  @Test
  void getOrLease_cancelledBeforeTheReply_releasesTheGrantedLease() {
    cancelAfterTheServerGranted(store.getOrLease("k", LEASE_TTL), List.of("k"));
    assertThat(CacheStoreContract.await(store.getOrLease("k", LEASE_TTL)))
        .as("the next caller is not kept waiting").isInstanceOf(StoreLookup.Granted.class);
  }

  @Test
  void getOrLeaseAll_cancelledBeforeTheReply_releasesEveryGrantedLease() {
    cancelAfterTheServerGranted(store.getOrLeaseAll(List.of("a", "b", "c"), LEASE_TTL).then(),
        List.of("a", "b", "c"));
  }

  @Test
  void tryLease_cancelledBeforeTheReply_releasesTheLease() {
    cancelAfterTheServerGranted(store.tryLease("k", LEASE_TTL), List.of("k"));
  }

  @Test
  void getOrLease_cancelledAfterTheLookupWasDelivered_keepsTheLease() {
    StoreLookup lookup = store.getOrLease("k", LEASE_TTL).flux().take(1).blockLast(BOUND);
    assertThat(lookup).isInstanceOf(StoreLookup.Granted.class);
    CacheStoreContract.await(store.get("k"));
    assertThat(direct.sync().exists(RedisCacheStore.leaseKey("k")))
        .as("the caller got its lease: a later cancel must not take it away").isEqualTo(1);
  }
}
