package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.testkit.CacheStoreContract;
import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.Latches;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestRedisCluster;
import io.lettuce.core.AclSetuserArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Lease-end notifications on a real Redis, standalone and cluster: a caller waiting for another
 * instance's load answers when the holder stores or gives up, not at its next backoff step.
 *
 * <p>Every waiter here runs its timers on a virtual scheduler whose time never moves, so its
 * backoff step never comes: when it answers, the notification woke it. The holder is a store on
 * a caller's connection without pub/sub, so the tests also show that a store that does not
 * listen still announces the ends its listening peers wait for.
 */
class LeaseEndIT {
  private static final Duration BOUND = Duration.ofSeconds(10);

  private final VirtualTimeScheduler frozen = VirtualTimeScheduler.create();
  private final List<AutoCloseable> opened = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    // Last opened, first closed: the fixture's own connection outlives what uses it.
    for (int i = opened.size() - 1; i >= 0; i--) {
      opened.get(i).close();
    }
    frozen.dispose();
  }

  private RedisFixture fixture(Topology topology) {
    RedisFixture fixture = topology == Topology.STANDALONE
        ? RedisFixture.standalone(TestRedis.get().client())
        : RedisFixture.cluster(TestRedisCluster.get().client());
    opened.add(fixture);
    if (topology == Topology.STANDALONE) {
      TestRedis.get().flushAll();
    } else {
      TestRedisCluster.get().flushAll();
    }
    return fixture;
  }

  /** A store on a connection of the test's, with no pub/sub connection: it only polls. */
  private RedisCacheStore pollingStore(Topology topology) {
    StatefulConnection<String, byte[]> connection;
    RedisCacheStore store;
    if (topology == Topology.STANDALONE) {
      var c = TestRedis.get().client().connect(RedisCacheStore.codec());
      connection = c;
      store = RedisCacheStore.builder().connection(c).build();
    } else {
      var c = TestRedisCluster.get().client().connect(RedisCacheStore.codec());
      connection = c;
      store = RedisCacheStore.builder().connection(c).build();
    }
    opened.add(connection::close);
    return store;
  }

  private static CacheAsideBuilder<String, String> instance(String name, RedisCacheStore store) {
    return CacheAside.<String, String>builder(name).store(store).codec(Codec.utf8());
  }

  /** A waiter whose backoff step never comes: a minute of virtual time that does not pass. */
  private CacheAsideBuilder<String, String> frozenWaiter(String name, RedisCacheStore store) {
    return instance(name, store).scheduler(frozen)
        .leaseTtl(Duration.ofMinutes(2)).leaseBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1))
        .leaseWait(Duration.ofMinutes(5));
  }

  /** A loader that says when it is called and answers what the test puts into the gate. */
  private static Function<String, Mono<String>> held(Sinks.One<String> gate,
      CountDownLatch loading) {
    return key -> {
      loading.countDown();
      return gate.asMono();
    };
  }

  private static void awaitWatching(RedisCacheStore store, int keys) {
    RedisFixture.poll(keys + " keys watched", BOUND,
        () -> Mono.fromSupplier(() -> store.watchedKeys() == keys));
  }

  /**
   * A holder on {@code holderStore} loads until the test lets it go; a frozen waiter on
   * {@code waiterStore} waits for it and must be answered with the holder's value.
   */
  private void waiterIsWokenByTheHoldersStore(String name, RedisCacheStore holderStore,
      RedisCacheStore waiterStore, RedisFixture fixture) {
    CacheAside<String, String> holder = instance(name, holderStore).build();
    CacheAside<String, String> waiter = frozenWaiter(name, waiterStore).build();
    Sinks.One<String> gate = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    StepVerifier held = StepVerifier.create(holder.cacheAside("k", held(gate, loading)))
        .expectNext("from holder").expectComplete().verifyLater();
    Latches.await(loading, "the holder's load");

    AtomicInteger waiterLoads = new AtomicInteger();
    StepVerifier waiting = StepVerifier.create(waiter.cacheAside("k", key -> {
      waiterLoads.incrementAndGet();
      return Mono.just("own");
    })).expectNext("from holder").expectComplete().verifyLater();
    awaitWatching(waiterStore, 1);
    byte[] lease = fixture.raw.get(RedisCacheStore.leaseKey(holder.storeKey("k").block()));
    assertThat(new String(lease, StandardCharsets.US_ASCII)).as("the waiter marked the lease")
        .endsWith(LeaseScripts.WAITED_MARK);

    gate.tryEmitValue("from holder");
    held.verify(BOUND);
    waiting.verify(BOUND);
    assertThat(waiterLoads).as("the waiter never loaded").hasValue(0);
    assertThat(waiter.stats().leaseWaits()).isEqualTo(1);
    assertThat(waiter.stats().leaseWakeups()).isEqualTo(1);
    assertThat(waiterStore.watchedKeys()).as("the watch is gone once it fired").isZero();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void holderStores_waiterOnAnotherInstanceAnswersAtOnce_withTheHoldersValue(Topology topology) {
    RedisFixture fixture = fixture(topology);
    waiterIsWokenByTheHoldersStore("end", pollingStore(topology), fixture.store, fixture);
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void aStoreOnTheCallersPubSubConnection_wakesItsWaiters_andCloseLeavesTheConnectionOpen(
      Topology topology) {
    RedisFixture fixture = fixture(topology);
    StatefulRedisPubSubConnection<String, byte[]> pubSub;
    RedisCacheStore store;
    if (topology == Topology.STANDALONE) {
      RedisClient client = TestRedis.get().client();
      pubSub = client.connectPubSub(RedisCacheStore.codec());
      var connection = client.connect(RedisCacheStore.codec());
      opened.add(connection::close);
      store = RedisCacheStore.builder().connection(connection).pubSub(pubSub).build();
    } else {
      RedisClusterClient client = TestRedisCluster.get().client();
      pubSub = client.connectPubSub(RedisCacheStore.codec());
      var connection = client.connect(RedisCacheStore.codec());
      opened.add(connection::close);
      store = RedisCacheStore.builder().connection(connection).pubSub(pubSub).build();
    }
    opened.add(pubSub::close);
    RedisFixture.poll("the subscription confirmed", BOUND,
        () -> Mono.fromSupplier(store::marksLeases));
    waiterIsWokenByTheHoldersStore("callers", pollingStore(topology), store, fixture);
    store.close();
    assertThat(pubSub.isOpen()).as("the caller's connection").isTrue();
  }

  @Test
  void aUserWhoMayNotPublish_stillStoresAndReleasesMarkedLeases_andTheWaiterPolls() {
    RedisFixture fixture = fixture(Topology.STANDALONE);
    String user = "cache-aside-no-publish";
    fixture.raw.aclSetuser(user, AclSetuserArgs.Builder.on().addPassword("pw").allKeys()
        .allCommands().resetChannels());
    opened.add(() -> fixture.raw.aclDeluser(user));
    RedisClient restricted = RedisClient.create(RedisURI.builder(TestRedis.get().uri())
        .withAuthentication(user, "pw").build());
    opened.add(restricted::shutdown);
    var connection = restricted.connect(RedisCacheStore.codec());
    opened.add(connection::close);
    RedisCacheStore holderStore = RedisCacheStore.builder().connection(connection).build();
    RedisCacheStore listening = fixture.store;
    Duration leaseTtl = Duration.ofSeconds(30);

    String token = granted(holderStore.getOrLease("s", leaseTtl));
    CacheStoreContract.await(listening.getOrLease("s", leaseTtl));
    assertThat(CacheStoreContract.await(holderStore.setIfLeased("s", token,
        "v".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5))))
        .as("stored although the publish was refused").isTrue();
    assertThat(fixture.raw.get(RedisCacheStore.valueKey("s"))).isEqualTo(
        "v".getBytes(StandardCharsets.UTF_8));
    assertThat(fixture.raw.exists(RedisCacheStore.leaseKey("s"))).isZero();

    String second = granted(holderStore.getOrLease("r", leaseTtl));
    CacheStoreContract.await(listening.getOrLease("r", leaseTtl));
    CacheStoreContract.await(holderStore.releaseLease("r", second));
    assertThat(fixture.raw.exists(RedisCacheStore.leaseKey("r")))
        .as("released although the publish was refused").isZero();

    // And through the cache: the holder's store lands, and the waiter, never told, polls.
    CacheAside<String, String> holder = instance("acl", holderStore).build();
    CacheAside<String, String> waiter = instance("acl", listening)
        .leaseBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
        .leaseWait(Duration.ofSeconds(30)).build();
    Sinks.One<String> gate = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    StepVerifier held = StepVerifier.create(holder.cacheAside("k", held(gate, loading)))
        .expectNext("v").expectComplete().verifyLater();
    Latches.await(loading, "the holder's load");
    StepVerifier waiting = StepVerifier.create(waiter.cacheAside("k", key -> Mono.just("own")))
        .expectNext("v").expectComplete().verifyLater();
    awaitWatching(listening, 1);
    gate.tryEmitValue("v");
    held.verify(BOUND);
    waiting.verify(BOUND);
    assertThat(holder.stats().storeErrors()).as("no store error on the holder").isZero();
    assertThat(waiter.stats().leaseWakeups()).as("never told: it polled").isZero();
  }

  private static String granted(Mono<StoreLookup> lookup) {
    return ((StoreLookup.Granted) CacheStoreContract.await(lookup)).token();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void holderFails_waiterTakesTheLeaseOverAtOnce_andLoadsItself(Topology topology) {
    RedisFixture fixture = fixture(topology);
    CacheAside<String, String> holder = instance("fail", pollingStore(topology)).build();
    CacheAside<String, String> waiter = frozenWaiter("fail", fixture.store).build();
    Sinks.One<String> gate = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    StepVerifier failed = StepVerifier.create(holder.cacheAside("k", held(gate, loading)))
        .expectErrorMessage("db down").verifyLater();
    Latches.await(loading, "the holder's load");

    StepVerifier waiting = StepVerifier.create(waiter.cacheAside("k", key -> Mono.just("own")))
        .expectNext("own").expectComplete().verifyLater();
    awaitWatching(fixture.store, 1);
    gate.tryEmitError(new IllegalStateException("db down"));
    failed.verify(BOUND);
    waiting.verify(BOUND);
    StepVerifier.create(instance("fail", pollingStore(topology)).build()
            .cacheAside("k", key -> Mono.just("not stored")))
        .as("the new holder stored its value").expectNext("own").verifyComplete();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void bulkWaiter_answersWhenTheHolderStoredEveryKeyItWaitedFor(Topology topology) {
    RedisFixture fixture = fixture(topology);
    CacheAside<String, String> holder = instance("bulk", pollingStore(topology)).build();
    CacheAside<String, String> waiter = frozenWaiter("bulk", fixture.store).build();
    List<String> keys = List.of("a", "b", "c", "d", "e", "f");
    Sinks.One<String> gate = Sinks.one();
    CountDownLatch loading = new CountDownLatch(1);
    BulkLoader<String, String> held = BulkLoader.fromFlux(ids -> {
      loading.countDown();
      return gate.asMono().thenMany(Flux.fromIterable(ids).map(id -> "row-" + id));
    }, row -> row.substring("row-".length()));
    StepVerifier holderDone = StepVerifier.create(holder.cacheAsideAll(Flux.fromIterable(keys),
        held).count()).expectNext(6L).expectComplete().verifyLater();
    Latches.await(loading, "the holder's bulk load");

    AtomicInteger waiterLoads = new AtomicInteger();
    BulkLoader<String, String> own = BulkLoader.fromFlux(ids -> {
      waiterLoads.incrementAndGet();
      return Flux.fromIterable(ids).map(id -> "own-" + id);
    }, row -> row.substring("own-".length()));
    StepVerifier waiting = StepVerifier.create(waiter.cacheAsideAll(Flux.fromIterable(keys), own)
            .collectMap(BulkResult::key, BulkResult::value))
        .assertNext(values -> assertThat(values).isEqualTo(Map.of("a", "row-a", "b", "row-b",
            "c", "row-c", "d", "row-d", "e", "row-e", "f", "row-f")))
        .expectComplete().verifyLater();
    awaitWatching(fixture.store, keys.size());
    gate.tryEmitValue("go");
    holderDone.verify(BOUND);
    waiting.verify(BOUND);
    assertThat(waiterLoads).hasValue(0);
    assertThat(fixture.store.watchedKeys()).isZero();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void watchesWhoseLeaseNeverEnds_areRemovedWhenTheWaiterGivesUp(Topology topology) {
    RedisFixture fixture = fixture(topology);
    CacheAside<String, String> holder = instance("never", pollingStore(topology)).build();
    // Real timers: the waiter looks again every 5 ms and gives up after 100 ms.
    CacheAside<String, String> waiter = instance("never", fixture.store)
        .leaseBackoff(Duration.ofMillis(5), Duration.ofMillis(5))
        .leaseWait(Duration.ofMillis(100)).build();
    CountDownLatch loading = new CountDownLatch(1);
    holder.cacheAside("k", key -> {
      loading.countDown();
      return Mono.never();
    }).subscribe();
    Latches.await(loading, "the holder's load");
    StepVerifier.create(waiter.cacheAside("k", key -> Mono.just("own")))
        .expectNext("own").verifyComplete();
    assertThat(fixture.store.watchedKeys()).as("no watch left behind").isZero();
    assertThat(fixture.raw.exists(RedisCacheStore.valueKey(waiter.storeKey("k").block())))
        .as("stored nothing without the lease").isZero();
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void aMarkedLease_stillStoresAndReleasesUnderItsToken_andKeepsItsTtl(Topology topology) {
    RedisFixture fixture = fixture(topology);
    RedisCacheStore listening = fixture.store;
    RedisCacheStore other = pollingStore(topology);
    Duration leaseTtl = Duration.ofSeconds(30);
    String token = granted(other.getOrLease("m", leaseTtl));
    assertThat(CacheStoreContract.await(other.getOrLease("m", leaseTtl)))
        .as("a store that does not listen").isInstanceOf(StoreLookup.Contended.class);
    String leaseKey = RedisCacheStore.leaseKey("m");
    assertThat(new String(fixture.raw.get(leaseKey), StandardCharsets.US_ASCII))
        .as("is not marked by a caller that does not listen").isEqualTo(token);
    for (int i = 0; i < 3; i++) {
      assertThat(CacheStoreContract.await(listening.getOrLease("m", leaseTtl)))
          .isInstanceOf(StoreLookup.Contended.class);
    }
    assertThat(new String(fixture.raw.get(leaseKey), StandardCharsets.US_ASCII))
        .as("marked once, however many look").isEqualTo(token + LeaseScripts.WAITED_MARK);
    assertThat(fixture.serverOf(leaseKey).pttl(leaseKey)).as("APPEND keeps the TTL")
        .isBetween(1L, leaseTtl.toMillis());
    assertThat(CacheStoreContract.await(other.setIfLeased("m", "not-the-token",
        "x".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5)))).isFalse();
    assertThat(CacheStoreContract.await(other.setIfLeased("m", token,
        "v".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5)))).isTrue();
    assertThat(fixture.raw.exists(leaseKey)).isZero();

    String second = granted(other.getOrLease("r", leaseTtl));
    CacheStoreContract.await(listening.getOrLease("r", leaseTtl));
    CacheStoreContract.await(other.releaseLease("r", second));
    assertThat(fixture.raw.exists(RedisCacheStore.leaseKey("r"))).as("a marked lease released")
        .isZero();
  }
}
