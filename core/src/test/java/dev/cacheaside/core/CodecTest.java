package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CodecTest {
  record Product(long id, String name, long priceCents) {}

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
