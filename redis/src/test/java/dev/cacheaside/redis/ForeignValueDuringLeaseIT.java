package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.EarlyRefresh;
import dev.cacheaside.core.NearCache;
import dev.cacheaside.core.testkit.ClockedStore;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.Latches;
import dev.cacheaside.testing.MutableClock;
import dev.cacheaside.testing.Poll;
import io.lettuce.core.api.StatefulConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Another application writes at one of our value keys while this library's leased load (or
 * refresh) of the key runs: every Redis type, and strings of many first bytes, against the
 * single-key read, the bulk read, an early refresh, a waiter on another instance and a near
 * cache, standalone and cluster. What the leased store must do: leave their value exactly as it
 * is (compared with {@code DUMP}), end the lease (announcing it to a waiter) and cache nothing.
 */
class ForeignValueDuringLeaseIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  /** Well below the waiter's lease TTL and backoff, which never pass. */
  private static final Duration BOUND = Duration.ofSeconds(10);

  private RedisFixture fixture;
  private final List<AutoCloseable> closeAfter = new ArrayList<>();
  private final VirtualTimeScheduler frozen = VirtualTimeScheduler.create();

  @AfterEach
  void close() throws Exception {
    for (int i = closeAfter.size() - 1; i >= 0; i--) {
      closeAfter.get(i).close();
    }
    if (fixture != null) {
      fixture.close();
    }
    frozen.dispose();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** What another application may write at a value key: every type, and foreign first bytes. */
  private Map<String, Consumer<String>> foreignWriters() {
    Map<String, Consumer<String>> writers = new LinkedHashMap<>();
    writers.put("list", key -> fixture.raw.rpush(key, bytes("theirs")));
    writers.put("set", key -> fixture.raw.sadd(key, bytes("theirs")));
    writers.put("zset", key -> fixture.raw.zadd(key, 1.0, bytes("theirs")));
    writers.put("stream", key -> fixture.raw.xadd(key, Map.of("f", bytes("theirs"))));
    writers.put("hash", key -> fixture.raw.hset(key, "f", bytes("theirs")));
    writers.put("empty string", key -> fixture.raw.set(key, new byte[0]));
    writers.put("integer string", key -> fixture.raw.set(key, bytes("12345")));
    writers.put("json", key -> fixture.raw.set(key, bytes("{\"a\":1}")));
    for (int first : new int[] {0x00, 0x7F, 0x80, 0xC9, 0xCB, 0xFF}) {
      writers.put("string 0x" + Integer.toHexString(first),
          key -> fixture.raw.set(key, new byte[] {(byte) first, (byte) 0xCA, 1, 2}));
    }
    // No entry is one byte long: the reader takes the mark alone for a foreign value.
    writers.put("mark alone", key -> fixture.raw.set(key, new byte[] {(byte) 0xCA}));
    writers.put("string with a TTL", key -> fixture.raw.psetex(key, 600_000, bytes("theirs")));
    return writers;
  }

  private CacheAsideBuilder<String, String> builder(String name) {
    RedisCacheStore store = fixture.topology.newStore();
    closeAfter.add(store);
    return CacheAside.<String, String>builder(name).store(store).codec(Codec.utf8())
        .generationRefresh(Duration.ofHours(1));
  }

  private String valueKey(CacheAside<String, String> cache, String key) {
    return RedisCacheStore.valueKey(cache.storeKey(key).block(TIMEOUT));
  }

  private String leaseKey(CacheAside<String, String> cache, String key) {
    return RedisCacheStore.leaseKey(cache.storeKey(key).block(TIMEOUT));
  }

  /**
   * Reads {@code key} with a loader that holds its load (and so the lease) until
   * {@code meanwhile} has run, then answers {@code loaded}, which the read must return.
   */
  private static void readWhileHeld(CacheAside<String, String> cache, String key, String loaded,
      Runnable meanwhile) {
    Sinks.One<String> release = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    StepVerifier read = StepVerifier.create(cache.cacheAside(key, k -> {
      loading.countDown();
      return release.asMono();
    })).expectNext(loaded).expectComplete().verifyLater();
    Latches.await(loading, "the load of " + key);
    meanwhile.run();
    release.tryEmitValue(loaded);
    read.verify(TIMEOUT);
  }

  /**
   * Each writer's value, written while the single-key leased load of its own key holds the
   * lease: the read answers the loaded value, the value is left byte for byte, the lease ended,
   * and a later read loads around it.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void everyTypeAndFirstByte_duringASingleLeasedLoad_leftExactly(Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = builder("single").build();
    Map<String, Consumer<String>> writers = foreignWriters();
    for (Map.Entry<String, Consumer<String>> writer : writers.entrySet()) {
      String key = writer.getKey();
      String valueKey = valueKey(cache, key);
      byte[][] theirDump = new byte[1][];
      readWhileHeld(cache, key, "ours", () -> {
        writer.getValue().accept(valueKey);
        theirDump[0] = fixture.raw.dump(valueKey);
      });
      byte[] theirs = theirDump[0];

      assertThat(fixture.raw.dump(valueKey)).as("%s left as written", key).isEqualTo(theirs);
      assertThat(fixture.raw.exists(leaseKey(cache, key))).as("%s: lease ended", key).isZero();
      assertThat(cache.cacheAside(key, k -> Mono.just("around")).block(TIMEOUT))
          .as("%s: loaded around", key).isEqualTo("around");
      assertThat(fixture.raw.dump(valueKey)).as("%s still left", key).isEqualTo(theirs);
    }
    assertThat(cache.stats().leasesLost()).as("every store refused")
        .isEqualTo(writers.size());
  }

  /** The same writers, one key each, all in one bulk read's leased load; a control key caches. */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void everyTypeAndFirstByte_duringABulkLeasedLoad_onlyTheirKeysLeft(Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = builder("bulk").bulkWindow(100, Duration.ofMillis(20))
        .build();
    Map<String, Consumer<String>> writers = foreignWriters();
    List<String> keys = new ArrayList<>(writers.keySet());
    keys.add("control");
    Sinks.One<String> release = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    AtomicInteger loaderCalls = new AtomicInteger();
    StepVerifier read = StepVerifier.create(cache.cacheAsideAll(Flux.fromIterable(keys), ids -> {
      loaderCalls.incrementAndGet();
      loading.countDown();
      return release.asMono().thenReturn(ids.stream()
          .collect(Collectors.toMap(id -> id, id -> "ours " + id)));
    }).collectList()).expectNextCount(1).expectComplete().verifyLater();
    Latches.await(loading, "the bulk load");
    Map<String, byte[]> theirs = new LinkedHashMap<>();
    writers.forEach((key, write) -> {
      write.accept(valueKey(cache, key));
      theirs.put(key, fixture.raw.dump(valueKey(cache, key)));
    });
    release.tryEmitValue("go");
    read.verify(TIMEOUT);

    assertThat(loaderCalls).as("one window, one load").hasValue(1);
    theirs.forEach((key, dump) -> {
      assertThat(fixture.raw.dump(valueKey(cache, key))).as("%s left", key).isEqualTo(dump);
      assertThat(fixture.raw.exists(leaseKey(cache, key))).as("%s: lease ended", key).isZero();
    });
    assertThat(cache.stats().leasesLost()).isEqualTo(writers.size());
    Map<String, String> again = cache.cacheAsideAll(Flux.fromIterable(keys),
            ids -> Flux.fromIterable(ids).collectMap(id -> id, id -> "around"))
        .collectMap(BulkResult::key, BulkResult::value).block(TIMEOUT);
    assertThat(again).as("control cached, the others loaded around")
        .containsEntry("control", "ours control")
        .containsAllEntriesOf(theirs.keySet().stream()
            .collect(Collectors.toMap(k -> k, k -> "around")));
  }

  /**
   * An early refresh ({@code EarlyRefresh.ahead}, the {@code tryLease} path over our own fresh
   * entry): another application replaces our entry with its hash while the refresh loads. The
   * refresh's store leaves the hash.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void foreignValueDuringAnEarlyRefresh_isLeft(Topology topology) {
    fixture = topology.open();
    MutableClock clock = new MutableClock(System.currentTimeMillis());
    RedisCacheStore store = fixture.topology.newStore();
    closeAfter.add(store);
    CacheAside<String, String> cache = CacheAside.<String, String>builder("early")
        .store(ClockedStore.of(store, clock)).codec(Codec.utf8()).clock(clock)
        .ttl(Duration.ofSeconds(10)).earlyRefresh(EarlyRefresh.ahead(0.5))
        .generationRefresh(Duration.ofHours(1)).build();
    assertThat(cache.cacheAside("k", k -> Mono.just("v1")).block(TIMEOUT)).isEqualTo("v1");
    clock.advance(Duration.ofSeconds(6));
    Sinks.One<String> release = Sinks.one();
    CountDownLatch refreshing = new CountDownLatch(1);
    assertThat(cache.cacheAside("k", k -> {
      refreshing.countDown();
      return release.asMono();
    }).block(TIMEOUT)).as("a hit, refreshed in the background").isEqualTo("v1");
    Latches.await(refreshing, "the early refresh");
    String valueKey = valueKey(cache, "k");
    fixture.raw.del(valueKey);
    fixture.raw.hset(valueKey, "f", bytes("theirs"));
    release.tryEmitValue("v2");
    String leaseKey = leaseKey(cache, "k");
    Poll.until("the refresh's lease ended", BOUND, () -> fixture.raw.exists(leaseKey) == 0);

    assertThat(fixture.raw.type(valueKey)).isEqualTo("hash");
    assertThat(fixture.raw.hgetall(valueKey)).containsOnlyKeys("f");
    assertThat(cache.stats().leasesLost()).isEqualTo(1);
  }

  /**
   * A waiter on another instance waits for the holder's load (its lease marked); the holder's
   * store is refused over a value another application wrote meanwhile. The refusal ends the lease
   * with its announcement: the waiter, whose own backoff and lease TTL never pass, wakes, finds
   * the foreign value and loads around it, and leaves it.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void holdersStoreRefused_waiterOnAnotherInstanceWakesAndLoadsAround(Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> holder = builder("waited").build();
    CacheAside<String, String> waiter = CacheAside.<String, String>builder("waited")
        .store(fixture.store).codec(Codec.utf8()).scheduler(frozen)
        .leaseTtl(Duration.ofMinutes(2)).leaseBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1))
        .leaseWait(Duration.ofMinutes(5)).build();
    String valueKey = valueKey(holder, "k");
    List<StepVerifier> waiting = new ArrayList<>();
    readWhileHeld(holder, "k", "from holder", () -> {
      waiting.add(StepVerifier.create(waiter.cacheAside("k", k -> Mono.just("own")))
          .expectNext("own").expectComplete().verifyLater());
      RedisFixture.poll("the waiter watching", BOUND,
          () -> Mono.fromSupplier(() -> fixture.store.watchedKeys() == 1));
      fixture.raw.set(valueKey, bytes("theirs"));
    });
    waiting.get(0).verify(BOUND);

    assertThat(fixture.raw.get(valueKey)).isEqualTo(bytes("theirs"));
    assertThat(waiter.stats().leaseWakeups()).as("woken by the announcement").isEqualTo(1);
    assertThat(waiter.stats().foreignEntries()).isEqualTo(1);
  }

  /**
   * A near cache whose leased store was refused: its local tier never holds the value it loaded
   * (or the foreign one), so each later read sees the foreign value and loads around it.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void nearCache_refusedStore_nothingLocal_laterReadsLoadAround(Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = builder("near").nearCache(NearCache.ofEntries(100))
        .build();
    Poll.until("the invalidation stream up", BOUND,
        () -> !cache.stats().nearCache().bypassing());
    String valueKey = valueKey(cache, "k");
    readWhileHeld(cache, "k", "ours", () -> fixture.raw.set(valueKey, bytes("theirs")));

    AtomicInteger loads = new AtomicInteger();
    Function<String, Mono<String>> loader = k -> Mono.just("around " + loads.incrementAndGet());
    assertThat(cache.cacheAside("k", loader).block(TIMEOUT)).isEqualTo("around 1");
    assertThat(cache.cacheAside("k", loader).block(TIMEOUT)).isEqualTo("around 2");
    assertThat(cache.stats().nearCache().size()).as("nothing in the local tier").isZero();
    assertThat(cache.stats().nearCache().hits()).isZero();
    assertThat(fixture.raw.get(valueKey)).isEqualTo(bytes("theirs"));
  }

  /**
   * Not foreign: a value written and deleted again before the store (the key holds nothing), and
   * a value beginning with our mark followed by anything: the leased store writes ours, with our
   * TTL.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void absentOrMarkedAtStoreTime_ourValueStored(Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> cache = builder("marked").ttl(Duration.ofMinutes(5)).build();
    Map<String, Consumer<String>> writers = new LinkedHashMap<>();
    writers.put("written then deleted", key -> {
      fixture.raw.hset(key, "f", bytes("theirs"));
      fixture.raw.del(key);
    });
    writers.put("mark then garbage",
        key -> fixture.raw.set(key, new byte[] {(byte) 0xCA, 0, (byte) 0xFF}));
    for (Map.Entry<String, Consumer<String>> writer : writers.entrySet()) {
      String key = writer.getKey();
      readWhileHeld(cache, key, "ours", () -> writer.getValue().accept(valueKey(cache, key)));
      assertThat(cache.cacheAside(key, k -> Mono.just("loaded again")).block(TIMEOUT))
          .as("%s: ours was stored", key).isEqualTo("ours");
      assertThat(fixture.raw.pttl(valueKey(cache, key))).as("%s: our TTL", key)
          .isBetween(1L, Duration.ofMinutes(5).toMillis());
    }
    assertThat(cache.stats().leasesLost()).isZero();
  }
}
