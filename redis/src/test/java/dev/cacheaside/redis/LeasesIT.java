package dev.cacheaside.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisFixture.Topology;
import dev.cacheaside.testing.Latches;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestRedisCluster;
import dev.cacheaside.testing.TestSchema;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * Issue 3 on a real Redis, standalone and cluster: lease takeover after Redis expired the
 * holder's lease, a mixed read/write workload against a real PostgreSQL table, and keys spread
 * over a cluster. One load across instances and the stale-set race run in
 * {@link RedisScenariosIT}.
 */
class LeasesIT {
  private final List<RedisCacheStore> stores = new ArrayList<>();

  @AfterEach
  void closeStores() {
    stores.forEach(RedisCacheStore::close);
  }

  private RedisCacheStore store(Topology topology) {
    RedisCacheStore store = topology.newStore();
    stores.add(store);
    return store;
  }

  private void flush(Topology topology) {
    if (topology == Topology.STANDALONE) {
      TestRedis.get().flushAll();
    } else {
      TestRedisCluster.get().flushAll();
    }
  }

  /** A new instance: its own store connection and in-flight map, as a separate service has. */
  private CacheAsideBuilder<String, String> instance(Topology topology) {
    return CacheAside.<String, String>builder("leases").store(store(topology)).codec(Codec.utf8());
  }

  @ParameterizedTest
  @EnumSource(Topology.class)
  void leaseHolderDies_waiterTakesOverAfterLeaseTtl(Topology topology) {
    flush(topology);
    CacheAside<String, String> dying = instance(topology).leaseTtl(Duration.ofSeconds(2)).build();
    CacheAside<String, String> waiting = instance(topology).leaseTtl(Duration.ofSeconds(2))
        .leaseWait(Duration.ofSeconds(30)).build();
    CountDownLatch holding = new CountDownLatch(1);
    dying.cacheAside("k", key -> {
      holding.countDown();
      return Mono.never();
    }).subscribe();
    Latches.await(holding, "the first instance to hold the lease");
    AtomicInteger waiterLoads = new AtomicInteger();
    StepVerifier.create(waiting.cacheAside("k", key -> {
      waiterLoads.incrementAndGet();
      return Mono.just("v");
    })).expectNext("v").verifyComplete();
    assertThat(waiting.stats().leaseWaits()).as("it waited on the other's lease first").isEqualTo(1);
    assertThat(waiterLoads).hasValue(1);
    StepVerifier.create(waiting.cacheAside("k", key -> Mono.just("other")))
        .as("the waiter took the lease over, so its value was stored").expectNext("v")
        .verifyComplete();
  }

  /**
   * Many readers and writers over a small key set, loaders reading a real PostgreSQL table:
   * after it settles, every cached key equals its row or is absent.
   */
  @ParameterizedTest
  @EnumSource(Topology.class)
  void mixedWorkload_afterSettling_everyCachedKeyEqualsItsRowOrIsAbsent(Topology topology) {
    flush(topology);
    try (TestSchema schema = TestPostgres.get().newSchema()) {
      ConnectionFactory db = schema.connectionFactory();
      int keys = 16;
      sql(db, "CREATE TABLE items (id int PRIMARY KEY, version int NOT NULL)").block();
      Flux.range(0, keys).concatMap(i -> sql(db, "INSERT INTO items VALUES (" + i + ", 0)"))
          .blockLast();
      List<CacheAside<String, String>> instances = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        instances.add(instance(topology).ttl(Duration.ofMinutes(5))
            .leaseWait(Duration.ofSeconds(30)).build());
      }
      Function<String, Mono<String>> loader = id -> query(db,
          "SELECT version FROM items WHERE id = " + Integer.parseInt(id));
      SplittableRandom random = new SplittableRandom(7);
      int operations = 3000;
      int[] kinds = new int[operations];
      int[] targets = new int[operations];
      int[] who = new int[operations];
      for (int i = 0; i < operations; i++) {
        kinds[i] = random.nextInt(10);
        targets[i] = random.nextInt(keys);
        who[i] = random.nextInt(instances.size());
      }
      AtomicInteger writes = new AtomicInteger();
      Flux.range(0, operations)
          .flatMap(i -> {
            CacheAside<String, String> cache = instances.get(who[i]);
            String id = Integer.toString(targets[i]);
            if (kinds[i] < 2) {
              writes.incrementAndGet();
              return cache.writeThenInvalidate(id,
                  sql(db, "UPDATE items SET version = version + 1 WHERE id = " + id)).then();
            }
            return cache.cacheAside(id, loader).then();
          }, 32)
          .blockLast(Duration.ofMinutes(2));
      assertThat(writes.get()).isGreaterThan(400);

      for (int i = 0; i < keys; i++) {
        String id = Integer.toString(i);
        String row = loader.apply(id).block();
        String cached = instances.get(0).cacheAside(id, key -> Mono.just("absent")).block();
        assertThat(cached).as("key %s: cached value equals the row or is absent", id)
            .isIn(row, "absent");
      }
    }
  }

  private static Mono<Void> sql(ConnectionFactory db, String sql) {
    return Mono.usingWhen(db.create(),
        c -> Flux.from(c.createStatement(sql).execute()).flatMap(r -> r.getRowsUpdated()).then(),
        Connection::close);
  }

  private static Mono<String> query(ConnectionFactory db, String sql) {
    return Mono.usingWhen(db.create(),
        c -> Flux.from(c.createStatement(sql).execute())
            .flatMap(r -> r.map((row, meta) -> String.valueOf(row.get(0, Integer.class))))
            .next(),
        Connection::close);
  }

  /** Cluster: keys of one test spread over all three masters. */
  @ParameterizedTest
  @EnumSource(value = Topology.class, names = "CLUSTER")
  void cluster_keysSpreadOverEveryMaster_andEachIsLoadedOnce(Topology topology) {
    flush(topology);
    CacheAside<String, String> a = instance(topology).build();
    CacheAside<String, String> b = instance(topology).build();
    AtomicInteger calls = new AtomicInteger();
    Function<String, Mono<String>> loader = key -> {
      calls.incrementAndGet();
      return Mono.delay(Duration.ofMillis(20)).thenReturn("v" + key);
    };
    int keys = 60;
    Flux.range(0, keys)
        .flatMap(i -> Flux.just(a, b, a, b)
            .flatMap(c -> c.cacheAside(Integer.toString(i), loader).subscribeOn(
                Schedulers.parallel())))
        .blockLast(Duration.ofSeconds(60));
    assertThat(calls).as("one load per key across both instances").hasValue(keys);
    Set<String> masters = Flux.range(0, keys)
        .map(i -> TestRedisCluster.get().client().getPartitions()
            .getPartitionBySlot(io.lettuce.core.cluster.SlotHash.getSlot(
                RedisCacheStore.valueKey(a.storeKey(Integer.toString(i)).block())))
            .getNodeId())
        .collect(Collectors.toSet()).block();
    assertThat(masters).as("keys live on every master").hasSize(3);
  }
}
