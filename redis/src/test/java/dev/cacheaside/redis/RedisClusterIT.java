package dev.cacheaside.redis;

import static dev.cacheaside.core.testkit.CacheStoreContract.await;
import static dev.cacheaside.core.testkit.CacheStoreContract.bytes;
import static dev.cacheaside.core.testkit.CacheStoreContract.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.testkit.CacheStoreContract;
import dev.cacheaside.core.spi.CacheStore.KeyedLookup;
import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.CacheStore.StoreEntry;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.testing.RedisClusterExtension;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Redis Cluster: entries spread over every master, multi-key operations split by hash slot (one
 * command or script call per slot, not per key), and each value lives next to its lease.
 */
@ExtendWith(RedisClusterExtension.class)
class RedisClusterIT {
  private static final Duration TTL = Duration.ofMinutes(5);
  private static final int PER_MASTER = 4;

  private RedisFixture fixture;
  private RedisCacheStore store;

  @BeforeEach
  void open(RedisClusterClient client) {
    fixture = RedisFixture.cluster(client);
    store = fixture.store;
  }

  @AfterEach
  void close() {
    fixture.close();
  }

  /** Keys named {@code prefix + i}, chosen until every master serves {@link #PER_MASTER}. */
  private Map<String, RedisClusterNode> keysOnEveryMaster(String prefix) {
    List<RedisClusterNode> masters = fixture.masters();
    assertThat(masters).as("masters").hasSize(3);
    Map<String, Integer> perMaster = new HashMap<>();
    Map<String, RedisClusterNode> keys = new HashMap<>();
    for (int i = 0; keys.size() < PER_MASTER * masters.size(); i++) {
      assertThat(i).as("keys tried").isLessThan(10_000);
      String key = prefix + i;
      RedisClusterNode master = fixture.masterOf(RedisCacheStore.valueKey(key));
      if (perMaster.merge(master.getNodeId(), 1, Integer::sum) <= PER_MASTER) {
        keys.put(key, master);
      }
    }
    return keys;
  }

  @Test
  void bulkOperations_acrossSlotsOnEveryMaster() {
    Map<String, RedisClusterNode> keys = keysOnEveryMaster("spread:");
    List<String> names = new ArrayList<>(keys.keySet());

    await(store.setAll(names.stream().map(k -> new StoreEntry(k, bytes("v:" + k), TTL)).toList()));

    keys.forEach((key, master) -> assertThat(fixture.node(master)
        .exists(RedisCacheStore.valueKey(key))).as("%s lives on %s", key, master.getUri())
        .isEqualTo(1));
    Map<String, byte[]> found = await(store.getAll(names));
    assertThat(found).containsOnlyKeys(names);
    names.forEach(k -> assertThat(text(found.get(k))).isEqualTo("v:" + k));

    // Half the keys lose their value; getOrLeaseAll then finds half and leases half.
    List<String> deleted = names.subList(0, names.size() / 2);
    await(store.delete(deleted));
    assertThat(await(store.getAll(names))).containsOnlyKeys(names.subList(names.size() / 2,
        names.size()));

    Map<String, StoreLookup> lookups = store.getOrLeaseAll(names, TTL).collectList()
        .block(CacheStoreContract.TIMEOUT).stream()
        .collect(Collectors.toMap(KeyedLookup::key, KeyedLookup::lookup));
    assertThat(lookups).containsOnlyKeys(names);
    for (String key : names) {
      assertThat(lookups.get(key)).as(key).isInstanceOf(deleted.contains(key)
          ? StoreLookup.Granted.class : StoreLookup.Found.class);
    }
    deleted.forEach(key -> assertThat(fixture.node(keys.get(key))
        .exists(RedisCacheStore.leaseKey(key))).as("the lease of %s is beside its value", key)
        .isEqualTo(1));

    List<LeasedEntry> entries = deleted.stream().map(k -> new LeasedEntry(k,
        ((StoreLookup.Granted) lookups.get(k)).token(), bytes("new:" + k), TTL)).toList();
    assertThat(store.setAllIfLeased(entries).collectList().block(CacheStoreContract.TIMEOUT))
        .containsExactlyInAnyOrderElementsOf(deleted);
    deleted.forEach(k -> assertThat(text(await(store.get(k)))).isEqualTo("new:" + k));

    await(store.delete(names));
    keys.forEach((key, master) -> assertThat(fixture.node(master)
        .exists(RedisCacheStore.valueKey(key), RedisCacheStore.leaseKey(key))).isZero());
  }

  @Test
  void bulkOperations_sendOneCommandPerSlot_notPerKey() {
    // A key cannot choose its slot (its braces are escaped), so find fifteen keys that happen to
    // fall in three slots, five in each.
    List<String> keys = keysInThreeSlots();
    assertThat(keys.stream().map(k -> SlotHash.getSlot(RedisCacheStore.valueKey(k))).distinct())
        .hasSize(3);
    await(store.set(keys.get(0), bytes("warm the scripts up"), TTL));
    await(store.getOrLeaseAll(keys, TTL).then());
    await(store.delete(keys));
    fixture.resetStats();

    await(store.getAll(keys));
    assertThat(fixture.calls("mget")).as("MGETs").isEqualTo(3);

    List<KeyedLookup> lookups = store.getOrLeaseAll(keys, TTL).collectList()
        .block(CacheStoreContract.TIMEOUT);
    assertThat(lookups).hasSize(15);
    assertThat(fixture.calls("evalsha")).as("getOrLease script calls").isEqualTo(3);

    List<LeasedEntry> entries = lookups.stream().map(l -> new LeasedEntry(l.key(),
        ((StoreLookup.Granted) l.lookup()).token(), bytes("v"), TTL)).toList();
    assertThat(store.setAllIfLeased(entries).collectList().block(CacheStoreContract.TIMEOUT))
        .hasSize(15);
    assertThat(fixture.calls("evalsha")).as("plus setIfLeased script calls").isEqualTo(6);

    // The setIfLeased script's own DELs count too: start afresh.
    fixture.resetStats();
    await(store.delete(keys));
    assertThat(fixture.calls("evalsha"))
        .as("delete scripts (DEL of values and leases, and their announcement)").isEqualTo(3);
    assertThat(await(store.getAll(keys))).isEmpty();
  }

  /** Fifteen keys whose value keys lie in three hash slots, five in each. */
  private static List<String> keysInThreeSlots() {
    Map<Integer, List<String>> bySlot = new HashMap<>();
    List<String> keys = new ArrayList<>();
    for (int i = 0; keys.size() < 15; i++) {
      String key = "cart:" + i;
      List<String> inSlot = bySlot.computeIfAbsent(
          SlotHash.getSlot(RedisCacheStore.valueKey(key)), slot -> new ArrayList<>());
      inSlot.add(key);
      if (inSlot.size() == 5) {
        keys.addAll(inSlot);
      }
    }
    return keys;
  }
}
