package dev.cacheaside.examples.bench;

import dev.cacheaside.examples.Product;
import dev.cacheaside.testing.TestPostgres;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestSchema;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.IntFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * This library against what users write today, side by side in one JVM on the same Redis, the
 * same PostgreSQL table and the same concurrency: raw Lettuce (hit path only), {@code cacheAside}
 * with its defaults, a tutorial-style hand-written cache-aside ({@link TutorialCacheAside}) and
 * Spring Data Redis's {@code RedisCache} ({@link SpringRedisCacheAside}). Prints three markdown
 * tables:
 * <ol>
 *   <li>hit path: reads per second on warm keys (uniform), median of interleaved rounds, and the
 *       ratio to raw Lettuce {@code GET} + the same JSON decode;
 *   <li>cold-key stampede: instances × concurrent callers on one cold key whose loader is a real
 *       PostgreSQL query taking 50 ms ({@code pg_sleep}); the queries sent, p50/p99 latency;
 *   <li>stale-set race, forced (reader loads the old row, a writer updates it and invalidates,
 *       then the reader's store lands): how often a later read serves the old row.
 * </ol>
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=ComparisonBenchmark -DskipTests package}. Options
 * (system properties via {@code -Drun.jvm.args="-Dreads=..."}): {@code reads} (200000),
 * {@code keys} (10000), {@code concurrency} (256), {@code rounds} (5), {@code instances} (4),
 * {@code callers} (100, per instance), {@code stampedeRounds} (3), {@code queryMillis} (50),
 * {@code races} (20), {@code pool} (16, PostgreSQL connections).
 */
public final class ComparisonBenchmark {
  private static final int READS = Integer.getInteger("reads", 200_000);
  private static final int KEYS = Integer.getInteger("keys", 10_000);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 256);
  private static final int ROUNDS = Integer.getInteger("rounds", 5);
  private static final int INSTANCES = Integer.getInteger("instances", 4);
  private static final int CALLERS = Integer.getInteger("callers", 100);
  private static final int STAMPEDE_ROUNDS = Integer.getInteger("stampedeRounds", 3);
  private static final Duration QUERY_TIME = Duration.ofMillis(Integer.getInteger("queryMillis", 50));
  private static final int RACES = Integer.getInteger("races", 20);
  private static final int POOL = Integer.getInteger("pool", 16);

  /** The approaches of the hit path: leases do not change a hit. */
  private static final List<Approach> HIT_PATH =
      List.of(Approach.LIBRARY, Approach.TUTORIAL, Approach.SPRING);

  private ComparisonBenchmark() {}

  /** Runs the comparison against the test Redis and PostgreSQL and prints its tables. */
  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    TestPostgres postgres = TestPostgres.get();
    String run = Long.toString(System.currentTimeMillis(), 36);
    System.out.printf(Locale.ROOT, "comparison: Redis %s, PostgreSQL %s, %d cores, %s%n",
        redis.version(), postgres.version(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    try (TestSchema schema = postgres.newSchema();
        CountedProducts table = CountedProducts.create(schema,
            Math.max(KEYS, Approach.values().length * RACES), POOL)) {
      hitPath(redis, table, "hit-" + run);
      stampedes(redis, table, "stampede-" + run);
      races(redis, table, "race-" + run);
    }
    System.exit(0);
  }

  private static void hitPath(TestRedis redis, CountedProducts table, String namespace) {
    Map<Long, Product> rows =
        Objects.requireNonNull(table.all().collectMap(Product::id).block(), "no rows");
    Function<Long, Mono<Product>> fromRows = id -> Mono.justOrEmpty(rows.get(id));
    StatefulRedisConnection<String, byte[]> raw =
        redis.client().connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
    RedisReactiveCommands<String, byte[]> rawCommands = raw.reactive();
    String rawPrefix = namespace + ":raw:";
    Flux.range(1, KEYS).flatMap(i -> rawCommands.set(rawPrefix + i,
        Contender.CODEC.encode(rows.get((long) i))), 64).blockLast();

    Map<String, IntFunction<? extends Mono<?>>> variants = new LinkedHashMap<>();
    variants.put("raw Lettuce GET + decode",
        i -> rawCommands.get(rawPrefix + i).map(Contender.CODEC::decode));
    List<Contender> contenders = new ArrayList<>();
    Function<Long, Mono<Product>> hitsOnly =
        id -> Mono.error(new IllegalStateException("the hit path expects hits only, missed " + id));
    for (Approach approach : HIT_PATH) {
      Contender contender = approach.open(redis, namespace + "-" + approach.name()
          .toLowerCase(Locale.ROOT));
      contenders.add(contender);
      Flux.range(1, KEYS).flatMap(i -> contender.read(i, fromRows), 64).blockLast();
      variants.put(approach.label(), i -> contender.read(i, hitsOnly));
    }

    SplittableRandom random = new SplittableRandom(42);
    int[] keys = new int[READS];
    for (int i = 0; i < READS; i++) {
      keys[i] = 1 + random.nextInt(KEYS); // the table's ids are 1..rows
    }
    System.out.printf(Locale.ROOT, "%n### Hit path: %,d reads per round, %,d warm keys (uniform),"
        + " flatMap concurrency %d, median of %d interleaved rounds%n%n", READS, KEYS, CONCURRENCY,
        ROUNDS);
    Throughput.printTable("approach", Throughput.interleaved(variants, keys, CONCURRENCY, ROUNDS));
    contenders.forEach(Contender::close);
    raw.close();
  }

  private static void stampedes(TestRedis redis, CountedProducts table, String namespace) {
    Map<Approach, List<Stampede.Outcome>> outcomes = new EnumMap<>(Approach.class);
    for (int round = 0; round < STAMPEDE_ROUNDS; round++) { // interleaved, like the hit path
      for (Approach approach : Approach.values()) {
        outcomes.computeIfAbsent(approach, a -> new ArrayList<>()).add(ComparisonScenarios.stampede(
            approach, redis, table, namespace + "-" + approach.name().toLowerCase(Locale.ROOT)
                + "-" + round, INSTANCES, CALLERS, 1, QUERY_TIME));
      }
    }
    System.out.printf(Locale.ROOT, "%n### Cold-key stampede: %d instances x %d concurrent callers,"
            + " loader a PostgreSQL query taking %d ms (pool of %d connections), median of %d"
            + " rounds%n%n", INSTANCES, CALLERS, QUERY_TIME.toMillis(), table.poolSize(),
        STAMPEDE_ROUNDS);
    System.out.println("| approach | DB queries per stampede | p50 ms | p99 ms |");
    System.out.println("|---|---:|---:|---:|");
    outcomes.forEach((approach, rounds) -> System.out.printf(Locale.ROOT, "| %s | %s |%n",
        approach.label(), Stampede.medianCells(rounds)));
  }

  private static void races(TestRedis redis, CountedProducts table, String namespace) {
    System.out.printf(Locale.ROOT, "%n### Stale-set race, forced %d times per approach: a reader"
        + " misses and loads the row, a writer updates it and invalidates, then the reader's store"
        + " lands%n%n", RACES);
    System.out.println("| approach | stale entries left (a later read serves the old row) |");
    System.out.println("|---|---:|");
    long id = 1;
    for (Approach approach : Approach.values()) {
      int stale = 0;
      for (int i = 0; i < RACES; i++) {
        if (ComparisonScenarios.staleSetRace(approach, redis, table,
            namespace + "-" + approach.name().toLowerCase(Locale.ROOT), id++)) {
          stale++;
        }
      }
      System.out.printf(Locale.ROOT, "| %s | %d of %d |%n", approach.label(), stale, RACES);
    }
  }
}
