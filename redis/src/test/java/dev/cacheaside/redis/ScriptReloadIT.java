package dev.cacheaside.redis;

import static dev.cacheaside.core.testkit.CacheStoreContract.await;
import static dev.cacheaside.core.testkit.CacheStoreContract.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.testkit.CacheStoreContract;
import dev.cacheaside.core.spi.CacheStore.KeyedLookup;
import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.StoreLookup;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The scripts run by digest; a server that lost them ({@code SCRIPT FLUSH}, a restart, a
 * failover) answers {@code NOSCRIPT}, and the store must send the script again and succeed.
 */
class ScriptReloadIT {
  private static final Duration TTL = Duration.ofMinutes(5);

  private RedisFixture fixture;

  @AfterEach
  void close() {
    if (fixture != null) {
      fixture.close();
    }
  }

  private boolean cachedOn(RedisClusterCommands<String, byte[]> server, Script script) {
    return server.scriptExists(script.sha()).get(0);
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void afterScriptFlush_everyScriptIsSentAgainAndWorks(RedisFixture.Topology topology) {
    fixture = topology.open();
    RedisCacheStore store = fixture.store;
    // Run every script once, so they are cached before the flush.
    String token = ((StoreLookup.Granted) await(store.getOrLease("k", TTL))).token();
    assertThat(await(store.setIfLeased("k", token, bytes("v"), TTL))).isTrue();
    await(store.releaseLease("k", "nobody"));
    RedisClusterCommands<String, byte[]> server = fixture.serverOf(RedisCacheStore.valueKey("k"));
    assertThat(cachedOn(server, LeaseScripts.GET_OR_LEASE)).as("cached before the flush").isTrue();

    fixture.servers().forEach(RedisClusterCommands::scriptFlush);
    fixture.resetStats();
    assertThat(cachedOn(server, LeaseScripts.GET_OR_LEASE)).as("flushed").isFalse();

    StoreLookup granted = await(store.getOrLease("new", TTL));
    assertThat(granted).isInstanceOf(StoreLookup.Granted.class);
    assertThat(fixture.calls("evalsha")).as("EVALSHA tried first").isEqualTo(1);
    assertThat(fixture.calls("eval")).as("then EVAL with the body, once").isEqualTo(1);
    assertThat(cachedOn(fixture.serverOf(RedisCacheStore.valueKey("new")),
        LeaseScripts.GET_OR_LEASE)).as("EVAL cached the script again").isTrue();

    assertThat(await(store.setIfLeased("new", ((StoreLookup.Granted) granted).token(),
        bytes("v"), TTL))).as("setIfLeased after the flush").isTrue();
    String other = ((StoreLookup.Granted) await(store.getOrLease("other", TTL))).token();
    await(store.releaseLease("other", other));
    assertThat(await(store.getOrLease("other", TTL))).as("released after the flush")
        .isInstanceOf(StoreLookup.Granted.class);
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void afterScriptFlush_bulkScriptsWork(RedisFixture.Topology topology) {
    fixture = topology.open();
    RedisCacheStore store = fixture.store;
    await(store.set("found", bytes("F"), TTL));
    fixture.servers().forEach(RedisClusterCommands::scriptFlush);

    List<String> keys = List.of("found", "a", "b", "c", "d", "e");
    Map<String, StoreLookup> lookups = store.getOrLeaseAll(keys, TTL).collectList()
        .block(CacheStoreContract.TIMEOUT).stream()
        .collect(Collectors.toMap(KeyedLookup::key, KeyedLookup::lookup));
    assertThat(lookups.get("found")).isInstanceOf(StoreLookup.Found.class);

    fixture.servers().forEach(RedisClusterCommands::scriptFlush);
    List<LeasedEntry> entries = keys.stream().skip(1)
        .map(k -> new LeasedEntry(k, ((StoreLookup.Granted) lookups.get(k)).token(), bytes(k), TTL))
        .toList();
    assertThat(store.setAllIfLeased(entries).collectList().block(CacheStoreContract.TIMEOUT))
        .containsExactlyInAnyOrder("a", "b", "c", "d", "e");
  }
}
