package dev.cacheaside.examples.bench;

import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.RedisClient;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;

/**
 * What each way of hearing about changes costs Redis, for the near cache's choice (issue 17):
 * Redis's server-assisted client-side caching ({@code CLIENT TRACKING} over RESP3, default mode
 * and {@code BCAST PREFIX ca:}) against the library's own channel ({@code PUBLISH} inside the
 * delete script). For {@code instances} tracking connections that each read {@code keys} keys,
 * then {@code writes} invalidations of keys all of them read and {@code writes} fills of new
 * keys: Redis memory grown by the reads (the tracking table), the tracking table's size, and the
 * messages delivered per invalidation and per fill.
 *
 * <p>Run: {@code mvn -B -o -q -Pbench -Dbench=InvalidationCostProbe -DskipTests package -pl
 * examples -am}. Options: {@code instances} (4), {@code keys} (20000), {@code writes} (1000).
 */
public final class InvalidationCostProbe {
  private static final int INSTANCES = Integer.getInteger("instances", 4);
  private static final int KEYS = Integer.getInteger("keys", 20_000);
  private static final int WRITES = Integer.getInteger("writes", 1_000);
  private static final byte[] VALUE = new byte[100];

  private InvalidationCostProbe() {}

  public static void main(String[] args) throws Exception {
    TestRedis redis = TestRedis.get();
    RedisClient client = redis.client();
    System.out.printf(Locale.ROOT, "invalidation cost: %d instances, each reading %d keys; %d"
        + " invalidations of read keys, %d fills of new keys; Redis %s%n", INSTANCES, KEYS,
        WRITES, WRITES, redis.version());
    System.out.println("| way | Redis memory grown by the reads | tracked keys | messages per"
        + " invalidation | messages per fill |");
    System.out.println("|---|---:|---:|---:|---:|");
    tracking(redis, client, "CLIENT TRACKING (default mode)", new TrackingArgs().enabled(true));
    tracking(redis, client, "CLIENT TRACKING BCAST PREFIX ca:",
        new TrackingArgs().enabled(true).bcast().prefixes("ca:"));
    ownChannel(redis, client);
    System.exit(0);
  }

  private static void tracking(TestRedis redis, RedisClient client, String name,
      TrackingArgs args) throws InterruptedException {
    redis.flushAll();
    try (StatefulRedisConnection<String, byte[]> writer = client.connect(RedisCacheStore.codec())) {
      fill(writer, "ca:{probe:", KEYS);
      AtomicLong messages = new AtomicLong();
      List<StatefulRedisConnection<String, byte[]>> readers = new ArrayList<>();
      for (int i = 0; i < INSTANCES; i++) {
        StatefulRedisConnection<String, byte[]> reader = client.connect(RedisCacheStore.codec());
        reader.addListener(message -> {
          if ("invalidate".equals(message.getType())) {
            Object keys = message.getContent().get(1);
            messages.addAndGet(keys instanceof List<?> list ? list.size() : 1);
          }
        });
        reader.sync().clientTracking(args);
        readers.add(reader);
      }
      long before = usedMemory(writer.sync());
      for (StatefulRedisConnection<String, byte[]> reader : readers) {
        Flux.range(0, KEYS).flatMap(i -> reader.reactive().get("ca:{probe:" + i + "}"), 256)
            .blockLast();
      }
      long grown = usedMemory(writer.sync()) - before;
      long tracked = stat(writer.sync(), "tracking_total_keys");
      long perInvalidation = delivered(messages, () -> fill(writer, "ca:{probe:", WRITES));
      long perFill = delivered(messages, () -> fill(writer, "ca:{new:", WRITES));
      System.out.printf(Locale.ROOT, "| %s | %,d B (%.0f B per key and instance) | %,d | %.2f |"
          + " %.2f |%n", name, grown, grown / (double) KEYS / INSTANCES, tracked,
          perInvalidation / (double) WRITES, perFill / (double) WRITES);
      readers.forEach(StatefulRedisConnection::close);
    }
  }

  private static void ownChannel(TestRedis redis, RedisClient client) throws InterruptedException {
    redis.flushAll();
    AtomicLong messages = new AtomicLong();
    List<RedisCacheStore> stores = new ArrayList<>();
    for (int i = 0; i < INSTANCES; i++) {
      RedisCacheStore store = RedisCacheStore.create(client);
      store.invalidations(new KeysHeard(key -> messages.incrementAndGet()));
      stores.add(store);
    }
    try (StatefulRedisConnection<String, byte[]> writer = client.connect(RedisCacheStore.codec())) {
      long before = usedMemory(writer.sync());
      // Reads cost the channel nothing: one plain GET per key and instance, as a near miss is.
      for (RedisCacheStore store : stores) {
        Flux.range(0, KEYS).flatMap(i -> store.get("probe:" + i), 256).blockLast();
      }
      long grown = usedMemory(writer.sync()) - before;
      RedisCacheStore deleter = stores.get(0);
      long perInvalidation = delivered(messages, () -> Flux.range(0, WRITES)
          .flatMap(i -> deleter.delete("probe:" + i), 64).blockLast());
      long perFill = delivered(messages, () -> Flux.range(0, WRITES)
          .flatMap(i -> deleter.set("new:" + i, VALUE, Duration.ofMinutes(1)), 64).blockLast());
      System.out.printf(Locale.ROOT, "| own channel (PUBLISH in the delete script) | %,d B |"
          + " 0 | %.2f | %.2f |%n", grown, perInvalidation / (double) WRITES,
          perFill / (double) WRITES);
    }
    stores.forEach(RedisCacheStore::close);
  }

  private static void fill(StatefulRedisConnection<String, byte[]> writer, String prefix, int n) {
    Flux.range(0, n).flatMap(i -> writer.reactive().set(prefix + i + "}", VALUE), 256)
        .blockLast();
  }

  /** Runs {@code writes}, then waits until no message arrived for 200 ms: those delivered. */
  private static long delivered(AtomicLong messages, Runnable writes) throws InterruptedException {
    long start = messages.get();
    writes.run();
    long seen;
    do {
      seen = messages.get();
      Thread.sleep(200);
    } while (messages.get() != seen);
    return seen - start;
  }

  private static long usedMemory(RedisCommands<String, byte[]> redis) {
    return info(redis, "memory", "used_memory");
  }

  private static long stat(RedisCommands<String, byte[]> redis, String name) {
    return info(redis, "stats", name);
  }

  private static long info(RedisCommands<String, byte[]> redis, String section, String name) {
    for (String line : redis.info(section).split("\r?\n")) {
      if (line.startsWith(name + ":")) {
        return Long.parseLong(line.substring(name.length() + 1).trim());
      }
    }
    return -1;
  }
}
