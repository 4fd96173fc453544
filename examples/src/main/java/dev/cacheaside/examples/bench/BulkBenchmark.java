package dev.cacheaside.examples.bench;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.BulkResult;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.stats.CacheStats;
import dev.cacheaside.core.JsonCodec;
import dev.cacheaside.examples.Product;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.reactive.RedisReactiveCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Bulk lookups: 100,000 ids of which 90 % are cached, read three ways side by side against the
 * same Redis: {@code cacheAsideAll} (windows of 500, 4 in flight), per-key {@code cacheAside}
 * through {@code flatMap}, and raw Lettuce {@code MGET} of the same number of keys (in batches of
 * the window size, as many in flight, values decoded with the same codec; raw loads nothing for
 * the 10 % it misses). For comparison also {@code cacheAsideAll} with leases off (no lease
 * scripts for the misses), with every id cached (the hit path alone), and a hand-written bulk
 * cache-aside on raw Lettuce ({@code MGET}, one load for the misses, {@code SET EX} each; what a
 * user writes without the library, with no stampede or stale-set protection). Before every round
 * the 10 % are invalidated again, so each round has the same mix. Loads are answered from memory
 * (a database with no latency), so the figures are the library's own cost. Prints throughput per
 * variant (median of interleaved rounds) and the CPU time each spent per 1,000 lookups in this
 * JVM and in the Redis server.
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=BulkBenchmark -DskipTests package} (starts its own
 * Redis, or uses {@code CACHE_ASIDE_REDIS_URI}). Options via
 * {@code -Drun.jvm.args="-Dlookups=..."}: {@code lookups} (100000), {@code window} (500),
 * {@code windows} (4, windows in flight), {@code concurrency} (256, per-key flatMap),
 * {@code rounds} (5), {@code only} (run only the variants whose name contains it; the ratio
 * columns then compare with the first and last variant run).
 */
public final class BulkBenchmark {
  private static final int LOOKUPS = Integer.getInteger("lookups", 100_000);
  private static final int WINDOW = Integer.getInteger("window", 500);
  private static final int WINDOWS = Integer.getInteger("windows", 4);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 256);
  private static final int ROUNDS = Integer.getInteger("rounds", 5);

  private BulkBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    RedisClient client = redis.client();
    redis.flushAll();
    JsonCodec<Product> codec = JsonCodec.of(Product.class);
    // Raw keys and values as bytes, as the store's own connection reads them.
    StatefulRedisConnection<String, byte[]> raw = client.connect(RedisCacheStore.codec());
    RedisReactiveCommands<String, byte[]> rawCommands = raw.reactive();
    RedisCacheStore bulkStore = RedisCacheStore.create(client);
    RedisCacheStore perKeyStore = RedisCacheStore.create(client);
    CacheAside<Long, Product> bulk = CacheAside.<Long, Product>builder("bench-bulk")
        .store(bulkStore).codec(codec).ttl(Duration.ofHours(1))
        .bulkWindow(WINDOW, Duration.ofMillis(10)).bulkMaxLoadChunk(WINDOW)
        .bulkConcurrency(WINDOWS).build();
    CacheAside<Long, Product> bulkNoLeases = CacheAside.<Long, Product>builder("bench-bulk")
        .store(bulkStore).codec(codec).ttl(Duration.ofHours(1)).leases(false)
        .bulkWindow(WINDOW, Duration.ofMillis(10)).bulkMaxLoadChunk(WINDOW)
        .bulkConcurrency(WINDOWS).build();
    CacheAside<Long, Product> allCached = CacheAside.<Long, Product>builder("bench-bulk-warm")
        .store(bulkStore).codec(codec).ttl(Duration.ofHours(1))
        .bulkWindow(WINDOW, Duration.ofMillis(10)).bulkConcurrency(WINDOWS).build();
    CacheAside<Long, Product> perKey = CacheAside.<Long, Product>builder("bench-bulk")
        .store(perKeyStore).codec(codec).ttl(Duration.ofHours(1)).build();

    BulkLoader<Long, Product> rows = ids -> {
      Map<Long, Product> found = new HashMap<>(ids.size() * 2);
      ids.forEach(id -> found.put(id, product(id)));
      return Mono.just(found);
    };
    AtomicLong loaderCalls = new AtomicLong();
    BulkLoader<Long, Product> database = ids -> {
      loaderCalls.incrementAndGet();
      return rows.load(ids);
    };
    Function<Long, Mono<Product>> row = id -> Mono.fromSupplier(() -> product(id));

    // 90 % cached: every id but the multiples of 10, through the library; raw keys hold the JSON.
    List<Long> cached = new ArrayList<>();
    List<Long> missing = new ArrayList<>();
    for (long id = 0; id < LOOKUPS; id++) {
      (id % 10 == 0 ? missing : cached).add(id);
    }
    bulk.cacheAsideAll(Flux.fromIterable(cached), database).blockLast();
    allCached.cacheAsideAll(Flux.range(0, LOOKUPS).map(Integer::longValue), database).blockLast();
    Flux.fromIterable(cached).flatMap(id -> rawCommands.set("raw:" + id,
        codec.encode(product(id))), 64).blockLast();
    Flux.fromIterable(cached).flatMap(id -> rawCommands.set("hand:" + id,
        codec.encode(product(id))), 64).blockLast();

    Map<String, Supplier<Long>> variants = new LinkedHashMap<>();
    variants.put("cacheAside per key (flatMap " + CONCURRENCY + ")", () ->
        Flux.range(0, LOOKUPS)
            .flatMap(i -> perKey.cacheAside((long) i, row), CONCURRENCY)
            .count().block());
    variants.put("cacheAsideAll (window " + WINDOW + ", " + WINDOWS + " in flight)", () ->
        bulk.cacheAsideAll(Flux.range(0, LOOKUPS).map(Integer::longValue), database)
            .filter(BulkResult::isPresent)
            .count().block());
    variants.put("cacheAsideAll, leases off (for comparison)", () ->
        bulkNoLeases.cacheAsideAll(Flux.range(0, LOOKUPS).map(Integer::longValue), rows)
            .filter(BulkResult::isPresent)
            .count().block());
    variants.put("cacheAsideAll, 100 % cached (for comparison)", () ->
        allCached.cacheAsideAll(Flux.range(0, LOOKUPS).map(Integer::longValue), rows)
            .filter(BulkResult::isPresent)
            .count().block());
    // What a user writes by hand without this library: MGET a batch, load the misses in one call,
    // SET EX each (pipelined by Lettuce). No leases, no stampede or stale-set protection.
    variants.put("hand-written: MGET, load misses, SET EX (no leases)", () ->
        Flux.range(0, LOOKUPS).map(Integer::longValue)
            .buffer(WINDOW)
            .flatMap(ids -> rawCommands.mget(ids.stream().map(id -> "hand:" + id)
                    .toArray(String[]::new)).collectList().flatMap(values -> {
                      Set<Long> misses = new HashSet<>();
                      long found = 0;
                      for (int i = 0; i < values.size(); i++) {
                        KeyValue<String, byte[]> kv = values.get(i);
                        if (kv.hasValue()) {
                          codec.decode(kv.getValue());
                          found++;
                        } else {
                          misses.add(ids.get(i));
                        }
                      }
                      long hits = found;
                      return misses.isEmpty() ? Mono.just(hits) : rows.load(misses)
                          .flatMap(loaded -> Flux.fromIterable(loaded.values())
                              .flatMap(v -> rawCommands.setex("hand:" + v.id(), 3600,
                                  codec.encode(v)))
                              .then(Mono.just(hits + loaded.size())));
                    }), WINDOWS)
            .reduce(0L, Long::sum).block());
    variants.put("raw Lettuce MGET + decode (" + WINDOW + " keys, " + WINDOWS + " in flight)",
        () -> Flux.range(0, LOOKUPS).map(i -> "raw:" + i)
            .buffer(WINDOW)
            .flatMap(keys -> rawCommands.mget(keys.toArray(new String[0])), WINDOWS)
            .filter(KeyValue::hasValue)
            .map(kv -> codec.decode(kv.getValue()))
            .count().block());

    String only = System.getProperty("only");
    if (only != null) {
      variants.keySet().removeIf(name -> !name.contains(only));
    }
    System.out.printf(Locale.ROOT, "bulk lookups: %,d ids per round, 90 %% cached, %d rounds"
            + " (median), Redis %s, %d cores, %s%n", LOOKUPS, ROUNDS, redis.version(),
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    for (Supplier<Long> op : variants.values()) {
      for (int i = 0; i < 3; i++) {
        reset(bulk, missing, rawCommands);
        op.get();
      }
    }
    Map<String, double[]> throughput = new LinkedHashMap<>();
    Map<String, double[]> cpu = new LinkedHashMap<>();
    Map<String, double[]> redisCpu = new LinkedHashMap<>();
    variants.keySet().forEach(name -> throughput.put(name, new double[ROUNDS]));
    variants.keySet().forEach(name -> cpu.put(name, new double[ROUNDS]));
    variants.keySet().forEach(name -> redisCpu.put(name, new double[ROUNDS]));
    com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    rawCommands.configResetstat().block();
    CacheStats bulkBefore = bulk.stats();
    long callsBefore = loaderCalls.get();
    for (int round = 0; round < ROUNDS; round++) {
      for (Map.Entry<String, Supplier<Long>> v : variants.entrySet()) {
        reset(bulk, missing, rawCommands);
        double redisStart = redisCpuSeconds(rawCommands);
        long cpuStart = os.getProcessCpuTime();
        long start = System.nanoTime();
        long answered = v.getValue().get();
        throughput.get(v.getKey())[round] = LOOKUPS / ((System.nanoTime() - start) / 1e9);
        cpu.get(v.getKey())[round] = (os.getProcessCpuTime() - cpuStart) / 1e3 / (LOOKUPS / 1e3);
        redisCpu.get(v.getKey())[round] =
            (redisCpuSeconds(rawCommands) - redisStart) * 1e6 / (LOOKUPS / 1e3);
        if (answered < cached.size()) {
          throw new IllegalStateException(v.getKey() + " answered only " + answered);
        }
      }
    }
    List<double[]> columns = new ArrayList<>(throughput.values());
    double perKeyMedian = Stats.median(columns.get(0));
    double rawMedian = Stats.median(columns.get(columns.size() - 1));
    System.out.println();
    System.out.println("| variant | lookups/s (median) | vs per key | vs raw MGET | min..max"
        + " | CPU µs per 1,000 lookups: JVM | Redis |");
    System.out.println("|---|---:|---:|---:|---|---:|---:|");
    for (Map.Entry<String, double[]> t : throughput.entrySet()) {
      double[] values = t.getValue();
      double median = Stats.median(values);
      System.out.printf(Locale.ROOT, "| %s | %,.0f | %.1f× | %.0f %% | %s | %,.0f | %,.0f |%n",
          t.getKey(), median, median / perKeyMedian, 100.0 * median / rawMedian,
          Stats.range(values), Stats.median(cpu.get(t.getKey())),
          Stats.median(redisCpu.get(t.getKey())));
    }
    CacheStats measured = bulk.stats().minus(bulkBefore);
    System.out.printf(Locale.ROOT, "%ncacheAsideAll per round: %,d hits, %,d misses, %,d loader"
            + " calls%n", measured.hits() / ROUNDS, measured.misses() / ROUNDS,
        (loaderCalls.get() - callsBefore) / ROUNDS);
    System.out.println("Redis server time per round (all variants, INFO commandstats):");
    for (String line : rawCommands.info("commandstats").block().split("\r?\n")) {
      if (line.startsWith("cmdstat_")) {
        String[] parts = line.substring("cmdstat_".length()).split("[:,=]");
        long usec = Long.parseLong(parts[4]);
        System.out.printf(Locale.ROOT, "  %-8s %,8d calls %,8.1f ms%n", parts[0],
            Long.parseLong(parts[2]) / ROUNDS, usec / 1000.0 / ROUNDS);
      }
    }
    raw.close();
    bulkStore.close();
    perKeyStore.close();
    System.exit(0);
  }

  /**
   * The Redis server's CPU time so far ({@code INFO cpu}: user + system, all its threads), read
   * around each timed run so a variant's cost on the server is shown beside its cost in the JVM:
   * on a machine where both share the cores, throughput is bounded by the sum.
   */
  private static double redisCpuSeconds(RedisReactiveCommands<String, byte[]> commands) {
    double seconds = 0;
    for (String line : commands.info("cpu").block().split("\r?\n")) {
      if (line.startsWith("used_cpu_user:") || line.startsWith("used_cpu_sys:")) {
        seconds += Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
      }
    }
    return seconds;
  }

  /** Makes the 10 % misses again (outside the timing). */
  private static void reset(CacheAside<Long, Product> cache, List<Long> missing,
      RedisReactiveCommands<String, byte[]> commands) {
    cache.invalidateAll(missing).block();
    commands.del(missing.stream().map(id -> "hand:" + id).toArray(String[]::new)).block();
  }

  private static Product product(long id) {
    return new Product(id, "Product number " + id + " with a name of typical length",
        100 + id % 10_000);
  }
}
