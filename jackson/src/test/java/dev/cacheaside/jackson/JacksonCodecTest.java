package dev.cacheaside.jackson;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

class JacksonCodecTest {
  record Product(long id, String name, long priceCents) {}

  /** Product as an older build knew it: no priceCents. */
  record ProductV1(long id, String name) {}

  /** Product as a newer build writes it: a field the others do not know. */
  record ProductV3(long id, String name, long priceCents, List<String> tags, Instant updated) {}

  @Test
  void roundTrip_record() {
    JacksonCodec<Product> codec = JacksonCodec.json(Product.class);
    Product product = new Product(42, "Kettle", 2599);

    assertThat(codec.decode(codec.encode(product))).isEqualTo(product);
  }

  @Test
  void decode_readsInPlace_fromAnOffsetIntoALargerArray() {
    JacksonCodec<Product> codec = JacksonCodec.json(Product.class);
    byte[] json = codec.encode(new Product(7, "Mug", 450));
    byte[] entry = new byte[json.length + 13];
    System.arraycopy(json, 0, entry, 9, json.length);
    entry[0] = '{'; // header bytes before and garbage after must not be read
    entry[entry.length - 1] = '}';

    assertThat(codec.decode(entry, 9, json.length)).isEqualTo(new Product(7, "Mug", 450));
  }

  @Test
  void decode_entryWrittenByANewerBuild_isAHit_evenWhenTheMapperFailsOnUnknownProperties() {
    JsonMapper strict = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
    byte[] newer = JacksonCodec.of(ProductV3.class, strict).encode(
        new ProductV3(1, "Lamp", 1999, List.of("home"), Instant.parse("2026-01-02T03:04:05Z")));

    assertThat(JacksonCodec.of(Product.class, strict).decode(newer))
        .isEqualTo(new Product(1, "Lamp", 1999));
    assertThat(JacksonCodec.json(ProductV1.class).decode(newer))
        .isEqualTo(new ProductV1(1, "Lamp"));
  }

  @Test
  void decode_entryWrittenByAnOlderBuild_givesDefaultsForMissingFields() {
    byte[] older = JacksonCodec.json(ProductV1.class).encode(new ProductV1(3, "Cup"));

    assertThat(JacksonCodec.json(Product.class).decode(older)).isEqualTo(new Product(3, "Cup", 0));
  }

  @Test
  void genericType_listOfRecords() {
    JsonMapper mapper = JacksonCodec.defaultMapper();
    JacksonCodec<List<Product>> codec = JacksonCodec.of(
        mapper.getTypeFactory().constructCollectionType(List.class, Product.class), mapper);
    List<Product> products = List.of(new Product(1, "a", 1), new Product(2, "b", 2));

    List<Product> decoded = codec.decode(codec.encode(products));

    assertThat(decoded).containsExactlyElementsOf(products);
    assertThat(decoded.get(0)).isInstanceOf(Product.class);
  }

  @Test
  void decode_takesTheTypeFromTheCodec_neverFromTheBytes() {
    // Bytes naming a class (as default typing would write them) are data, not instructions.
    byte[] hostile = "[\"java.net.URL\",\"http://127.0.0.1/\"]".getBytes(StandardCharsets.UTF_8);
    JacksonCodec<Object> untyped = JacksonCodec.json(Object.class);

    assertThat(untyped.decode(hostile)).isEqualTo(List.of("java.net.URL", "http://127.0.0.1/"));
    assertThatThrownBy(() -> JacksonCodec.json(Product.class).decode(hostile))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void decode_nullOrGarbage_throws() {
    JacksonCodec<Product> codec = JacksonCodec.json(Product.class);

    assertThatThrownBy(() -> codec.decode("null".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
    assertThatThrownBy(() -> codec.decode("{\"id\":".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot read");
  }

  /** A value whose property cannot be read. */
  public static final class Exploding {
    public String getName() {
      throw new IllegalStateException("boom");
    }
  }

  @Test
  void encode_valueTheMapperCannotWrite_throwsIllegalArgument() {
    JacksonCodec<Exploding> codec = JacksonCodec.json(Exploding.class);

    assertThatThrownBy(() -> codec.encode(new Exploding()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot write");
  }

  @Test
  void sharedAcrossThreads_everyRoundTripIsExact() throws Exception {
    JacksonCodec<Product> codec = JacksonCodec.json(Product.class);
    int threads = 4;
    int each = 2_000;
    Map<Long, Product> wrong = new ConcurrentHashMap<>();
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int t = 0; t < threads; t++) {
        long base = t * (long) each;
        pool.execute(() -> {
          try {
            start.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          for (long i = base; i < base + each; i++) {
            Product product = new Product(i, "p" + i, i * 3);
            Product back = codec.decode(codec.encode(product));
            if (!back.equals(product)) {
              wrong.put(i, back);
            }
          }
        });
      }
      start.countDown();
    } finally {
      pool.shutdown();
      assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(wrong).isEmpty();
  }
}
