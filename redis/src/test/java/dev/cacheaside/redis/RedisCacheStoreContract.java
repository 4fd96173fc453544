package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.core.testkit.CacheStoreContract;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestRedisCluster;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

/**
 * The store contract on Redis, plus what only Redis has: TTLs read with {@code PTTL}, the key
 * layout, Redis errors and the connection's life cycle. Subclasses open the fixture on a
 * standalone server or on a cluster.
 */
abstract class RedisCacheStoreContract extends CacheStoreContract {
  /** How far below the TTL given to SET a PTTL read right after may be, on a busy machine. */
  private static final long PTTL_SLACK_MILLIS = 5_000;

  RedisFixture fixture;

  @AfterEach
  void closeFixture() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @Override
  protected CacheStore store() {
    return fixture.store;
  }

  @Override
  protected void assertExpiresAfter(String key, Duration ttl) {
    assertPttl(RedisCacheStore.valueKey(key), ttl);
  }

  private void assertPttl(String redisKey, Duration ttl) {
    long pttl = fixture.raw.pttl(redisKey);
    assertThat(pttl).as("PTTL of %s", redisKey)
        .isBetween(ttl.toMillis() - PTTL_SLACK_MILLIS, ttl.toMillis());
  }

  @Override
  protected void awaitLeaseExpiry(String key, Duration leaseTtl) {
    fixture.awaitGone(RedisCacheStore.leaseKey(key), Duration.ofSeconds(10));
  }

  @Override
  protected Duration shortLeaseTtl() {
    return Duration.ofMillis(100);
  }

  /** FLUSHALL loses every key, generation counters with the rest. */
  @Override
  protected boolean loseGenerations() {
    fixture.flushAll();
    return true;
  }

  @Test
  void layout_valueAndLeaseLiveAtTheDocumentedKeysInOneSlot() {
    await(store().set("products:42", bytes("v"), LONG_TTL));
    String token = await(store().tryLease("products:42", LEASE_TTL));

    assertThat(fixture.raw.get("ca:{products:42}")).containsExactly(bytes("v"));
    assertThat(text(fixture.raw.get("ca:{products:42}:l"))).isEqualTo(token);
    assertThat(SlotHash.getSlot("ca:{products:42}:l")).isEqualTo(SlotHash.getSlot("products:42"));
    if (fixture.topology == RedisFixture.Topology.CLUSTER) {
      assertThat(fixture.raw.clusterKeyslot("ca:{products:42}:l"))
          .as("the server agrees").isEqualTo(SlotHash.getSlot("products:42"));
    }
    await(store().bumpGeneration("products"));
    assertThat(fixture.raw.exists("ca:g:{products}")).isEqualTo(1);
  }

  @Test
  void layout_aKeyWithBracesOfItsOwn_cannotChooseItsSlot() {
    await(store().set("user:{7}:cart", bytes("v"), LONG_TTL));
    await(store().getOrLease("user:{7}:orders", LEASE_TTL));
    assertThat(fixture.raw.exists("ca:{user:%7B7%7D:cart}")).isEqualTo(1);
    assertThat(fixture.raw.exists("ca:{user:%7B7%7D:orders}:l")).isEqualTo(1);
    assertThat(SlotHash.getSlot("ca:{user:%7B7%7D:cart}"))
        .as("the whole key is the hash tag, not the caller's {7}")
        .isEqualTo(SlotHash.getSlot("user:%7B7%7D:cart"));
  }

  @Test
  void getOrLease_theLeaseExpiresAfterItsTtl() {
    assertThat(await(store().getOrLease("k", Duration.ofSeconds(40))))
        .isInstanceOf(StoreLookup.Granted.class);
    assertPttl(RedisCacheStore.leaseKey("k"), Duration.ofSeconds(40));
    await(store().tryLease("t", Duration.ofSeconds(20)));
    assertPttl(RedisCacheStore.leaseKey("t"), Duration.ofSeconds(20));
  }

  @Test
  void get_ofAKeyOfAnotherType_errors_theLeaseScriptAnswersAnEmptyValue() {
    fixture.raw.rpush(RedisCacheStore.valueKey("list"), bytes("x"));
    StepVerifier.create(store().get("list")).as("GET of a list")
        .verifyError(RedisCommandExecutionException.class);
    // An empty value is no envelope: the core loads around it and leaves it alone. An error would
    // fail every other entry of the script's call (a bulk read's whole slot group).
    StepVerifier.create(store().getOrLease("list", LEASE_TTL)).as("script GET of a list")
        .assertNext(lookup -> assertThat(lookup).isInstanceOfSatisfying(StoreLookup.Found.class,
            found -> assertThat(found.value()).isEmpty()))
        .verifyComplete();
    assertThat(fixture.raw.exists(RedisCacheStore.leaseKey("list"))).as("no lease over it")
        .isZero();
  }

  @Test
  void set_keepsTheLease() {
    String token = await(store().tryLease("k", LEASE_TTL));
    await(store().set("k", ours("unconditional"), LONG_TTL));
    assertThat(fixture.raw.exists(RedisCacheStore.leaseKey("k"))).isEqualTo(1);
    assertThat(await(store().setIfLeased("k", token, ours("leased"), LONG_TTL))).isTrue();
  }

  @Test
  void corruptBytesWrittenByOthers_areReturnedAsIs() {
    fixture.raw.set(RedisCacheStore.valueKey("k"), bytes("garbage"), SetArgs.Builder.px(60_000));
    assertThat(text(await(store().get("k")))).isEqualTo("garbage");
  }

  @Test
  void close_closesTheConnectionItOpened_laterCallsError() {
    await(store().set("k", bytes("v"), LONG_TTL));
    fixture.store.close();
    StepVerifier.create(store().get("k")).as("get after close").verifyError();
    StepVerifier.create(store().getOrLease("k", LEASE_TTL)).as("script after close")
        .verifyError();
  }

  @Test
  void closeAsync_closesOnSubscription() {
    var closing = fixture.store.closeAsync();
    assertThat(await(store().bumpGeneration("n"))).as("not closed before subscription")
        .isPositive();
    StepVerifier.create(closing).verifyComplete();
    StepVerifier.create(store().bumpGeneration("n")).verifyError();
  }

  @Test
  void aStoreOnTheCallersConnection_leavesItOpenOnClose() {
    StatefulConnection<String, byte[]> own;
    RedisCacheStore onCallers;
    if (fixture.topology == RedisFixture.Topology.STANDALONE) {
      StatefulRedisConnection<String, byte[]> connection =
          TestRedis.get().client().connect(RedisCacheStore.codec());
      own = connection;
      onCallers = RedisCacheStore.builder().connection(connection).build();
    } else {
      StatefulRedisClusterConnection<String, byte[]> connection =
          TestRedisCluster.get().client().connect(RedisCacheStore.codec());
      own = connection;
      onCallers = RedisCacheStore.builder().connection(connection).build();
    }
    try {
      await(onCallers.set("k", bytes("v"), LONG_TTL));
      onCallers.close();
      StepVerifier.create(onCallers.closeAsync()).verifyComplete();
      assertThat(own.isOpen()).isTrue();
      assertThat(text(await(onCallers.get("k")))).as("still usable").isEqualTo("v");
      assertThat(onCallers.toString()).contains("caller's connection");
    } finally {
      own.close();
    }
  }
}
