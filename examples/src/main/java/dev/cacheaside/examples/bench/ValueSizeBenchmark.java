package dev.cacheaside.examples.bench;

import dev.cacheaside.compression.CompressingCodec;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.jackson.JacksonCodec;
import dev.cacheaside.protobuf.ProtobufCodec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.TestRedis;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.IntFunction;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Values and their cost: a product listing of about 1 KB, 16 KB and 256 KB of English-like text
 * ({@link ListingText}), cached as JSON, Smile, CBOR (Jackson 3, {@code JacksonCodec}) and
 * Protocol Buffers (generated {@link ListingProto}, {@code ProtobufCodec}), each plain, with LZ4
 * and with Zstandard ({@code CompressingCodec}, threshold 512 bytes so every size is compressed).
 * Per size and variant: the bytes Redis holds per entry (envelope included, {@code STRLEN}) and
 * hit-path reads per second through {@code cacheAside} (median of interleaved rounds).
 *
 * <p>Run: {@code mvn -B -q -Pbench -Dbench=ValueSizeBenchmark -DskipTests package}. Options
 * ({@code -Drun.jvm.args="-Xmx2g -Drounds=5"}): {@code rounds} (3), {@code concurrency} (32),
 * {@code sizes} ({@code 1024,16384,262144}).
 */
public final class ValueSizeBenchmark {
  private static final int ROUNDS = Integer.getInteger("rounds", 3);
  private static final int CONCURRENCY = Integer.getInteger("concurrency", 32);
  private static final String SIZES = System.getProperty("sizes", "1024,16384,262144");
  private static final int THRESHOLD = 512;

  /** The cached value: what a product page shows. */
  public record Listing(long id, String name, long priceCents, List<String> tags,
      List<String> paragraphs) {}

  /** One way of storing a listing. */
  private record Variant<T>(String name, Codec<T> codec, Function<Listing, T> convert) {}

  private ValueSizeBenchmark() {}

  public static void main(String[] args) {
    TestRedis redis = TestRedis.get();
    RedisCacheStore store = RedisCacheStore.create(redis.client());
    StatefulRedisConnection<String, String> raw = redis.client().connect(StringCodec.UTF8);

    List<Variant<?>> variants = new ArrayList<>();
    addCompressed(variants, "JSON", JacksonCodec.json(Listing.class), listing -> listing);
    addCompressed(variants, "Smile", JacksonCodec.smile(Listing.class), listing -> listing);
    addCompressed(variants, "CBOR", JacksonCodec.cbor(Listing.class), listing -> listing);
    addCompressed(variants, "protobuf", ProtobufCodec.of(ListingProto.Listing.parser()),
        ValueSizeBenchmark::toProto);

    System.out.printf(Locale.ROOT, "value sizes: %d rounds (median), flatMap concurrency %d,"
            + " compression from %d bytes, Redis %s, %d cores, %s%n", ROUNDS, CONCURRENCY,
        THRESHOLD, redis.version(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    for (String size : SIZES.split(",")) {
      int bytes = Integer.parseInt(size.strip());
      int keys = Math.max(16, Math.min(2_000, 4_000_000 / bytes));
      int reads = Math.max(4_000, Math.min(40_000, 160_000_000 / bytes));
      System.out.println();
      run(store, raw, variants, bytes, keys, reads);
    }
    raw.close();
    store.close();
    System.exit(0);
  }

  private static <T> void addCompressed(List<Variant<?>> variants, String name, Codec<T> codec,
      Function<Listing, T> convert) {
    variants.add(new Variant<>(name, codec, convert));
    variants.add(new Variant<>(name + " + LZ4",
        CompressingCodec.lz4(codec).withThreshold(THRESHOLD), convert));
    variants.add(new Variant<>(name + " + Zstd",
        CompressingCodec.zstd(codec).withThreshold(THRESHOLD), convert));
  }

  private static void run(RedisCacheStore store, StatefulRedisConnection<String, String> raw,
      List<Variant<?>> variants, int bytes, int keys, int reads) {
    List<Listing> listings = new ArrayList<>(keys);
    for (int id = 0; id < keys; id++) {
      listings.add(ListingText.listing(id, bytes));
    }
    int json = JacksonCodec.json(Listing.class).encode(listings.get(0)).length;
    Map<String, IntFunction<? extends Mono<?>>> reading = new LinkedHashMap<>();
    Map<String, Double> stored = new LinkedHashMap<>();
    for (Variant<?> variant : variants) {
      prepare(store, raw, variant, listings, bytes, reading, stored);
    }
    SplittableRandom random = new SplittableRandom(42);
    int[] order = new int[reads];
    for (int i = 0; i < reads; i++) {
      order[i] = random.nextInt(keys);
    }
    Map<String, double[]> throughput = Throughput.interleaved(reading, order, CONCURRENCY, ROUNDS);

    double jsonStored = stored.values().iterator().next();
    System.out.printf(Locale.ROOT, "listing of ~%,d bytes (JSON of key 0: %,d bytes), %,d keys,"
        + " %,d reads per round%n", bytes, json, keys, reads);
    System.out.println("| format | bytes in Redis (mean) | vs JSON | hit reads/s (median) |"
        + " min..max |");
    System.out.println("|---|---:|---:|---:|---|");
    for (Map.Entry<String, double[]> t : throughput.entrySet()) {
      double mean = stored.get(t.getKey());
      System.out.printf(Locale.ROOT, "| %s | %,.0f | %.0f %% | %,.0f | %s |%n", t.getKey(), mean,
          100.0 * mean / jsonStored, Stats.median(t.getValue()), Stats.range(t.getValue()));
    }
  }

  /** Builds the variant's cache, stores every listing and measures what Redis holds. */
  private static <T> void prepare(RedisCacheStore store,
      StatefulRedisConnection<String, String> raw, Variant<T> variant, List<Listing> listings,
      int bytes, Map<String, IntFunction<? extends Mono<?>>> reading,
      Map<String, Double> stored) {
    CacheAside<Integer, T> cache = CacheAside.<Integer, T>builder("values-" + bytes + "-"
            + variant.name().replace(' ', '_').replace("+", ""))
        .store(store).codec(variant.codec()).ttl(Duration.ofHours(1)).build();
    Flux.range(0, listings.size())
        .flatMap(id -> cache.cacheAside(id, k -> Mono.just(variant.convert().apply(
            listings.get(k)))), 16)
        .blockLast(Duration.ofMinutes(5));
    long total = 0;
    for (int id = 0; id < listings.size(); id++) {
      String key = RedisCacheStore.valueKey(cache.storeKey(id).block(Duration.ofSeconds(10)));
      total += raw.sync().strlen(key);
    }
    stored.put(variant.name(), (double) total / listings.size());
    reading.put(variant.name(), id -> cache.cacheAside(id,
        k -> Mono.error(new IllegalStateException("the benchmark reads hits only"))));
  }

  private static ListingProto.Listing toProto(Listing listing) {
    return ListingProto.Listing.newBuilder().setId(listing.id()).setName(listing.name())
        .setPriceCents(listing.priceCents()).addAllTags(listing.tags())
        .addAllParagraphs(listing.paragraphs()).build();
  }
}
