package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CodecTest {
  record Product(long id, String name, long priceCents) {}

  @Test
  void withMaxValueBytes_isCalledOnceAtBuild_withTheCachesBound_andItsResultIsUsed() {
    java.util.List<Integer> bounds = new java.util.concurrent.CopyOnWriteArrayList<>();
    Codec<String> bounded = new Codec<>() {
      @Override
      public byte[] encode(String value) {
        return ("bounded:" + value).getBytes(StandardCharsets.UTF_8);
      }

      @Override
      public String decode(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
      }
    };
    Codec<String> given = new Codec<>() {
      @Override
      public byte[] encode(String value) {
        throw new AssertionError("the codec given to the builder is not the one used");
      }

      @Override
      public String decode(byte[] bytes) {
        throw new AssertionError("the codec given to the builder is not the one used");
      }

      @Override
      public Codec<String> withMaxValueBytes(int maxValueBytes) {
        bounds.add(maxValueBytes);
        return bounded;
      }
    };
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("c")
        .store(dev.cacheaside.core.spi.InMemoryCacheStore.builder().build()).codec(given)
        .maxValueBytes(4096).build();

    assertThat(bounds).containsExactly(4096);
    cache.cacheAside(1, k -> reactor.core.publisher.Mono.just("one"))
        .block(java.time.Duration.ofSeconds(10));
    assertThat(cache.cacheAside(1, k -> reactor.core.publisher.Mono.just("loaded"))
        .block(java.time.Duration.ofSeconds(10))).isEqualTo("bounded:one");
    assertThat(Codec.utf8().withMaxValueBytes(1)).as("the default: the codec itself")
        .isSameAs(Codec.utf8());
  }

  @Test
  void json_roundTripsRecords() {
    JsonCodec<Product> codec = JsonCodec.of(Product.class);
    Product p = new Product(42, "Lamp", 1999);
    assertThat(codec.decode(codec.encode(p))).isEqualTo(p);
  }

  @Test
  void json_badBytes_failWithTypeInMessage() {
    JsonCodec<Product> codec = JsonCodec.of(Product.class);
    assertThatThrownBy(() -> codec.decode("{not json".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read").hasMessageContaining("Product");
    assertThatThrownBy(() -> codec.decode("null".getBytes(StandardCharsets.UTF_8)))
        .hasMessageContaining("JSON null");
  }

  record ProductV2(long id, String name, long priceCents, String color) {}

  @Test
  void json_entryOfANewerVersionWithAFieldThisOneDoesNotKnow_isRead() {
    byte[] newer = JsonCodec.of(ProductV2.class).encode(new ProductV2(42, "Lamp", 1999, "red"));
    assertThat(JsonCodec.of(Product.class).decode(newer)).isEqualTo(new Product(42, "Lamp", 1999));
    com.fasterxml.jackson.databind.ObjectMapper strict =
        new com.fasterxml.jackson.databind.ObjectMapper().enable(
            com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    assertThat(JsonCodec.of(Product.class, strict).decode(newer))
        .as("whatever the mapper says").isEqualTo(new Product(42, "Lamp", 1999));
  }

  @Test
  void utf8_roundTrips() {
    assertThat(Codec.utf8().decode(Codec.utf8().encode("grüße ✓"))).isEqualTo("grüße ✓");
  }
}
