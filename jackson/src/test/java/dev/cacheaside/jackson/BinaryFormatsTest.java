package dev.cacheaside.jackson;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.cbor.CBORMapper;
import tools.jackson.dataformat.smile.SmileMapper;

/** Smile and CBOR: the same mapping as JSON, fewer bytes, and the same tolerance. */
class BinaryFormatsTest {
  record Product(long id, String name, String description, long priceCents, List<String> tags) {}

  record ProductV1(long id, String name) {}

  /** A field declared as Object: the bytes must not choose the class that is built for it. */
  record Holder(String name, Object payload) {}

  enum Format {
    SMILE(JacksonCodec::smile, SmileMapper.builder().build()),
    CBOR(JacksonCodec::cbor, CBORMapper.builder().build());

    final Function<Class<?>, JacksonCodec<?>> codec;
    final ObjectMapper mapper;

    Format(Function<Class<?>, JacksonCodec<?>> codec, ObjectMapper mapper) {
      this.codec = codec;
      this.mapper = mapper;
    }

    @SuppressWarnings("unchecked")
    <V> JacksonCodec<V> of(Class<V> type) {
      return (JacksonCodec<V>) codec.apply(type);
    }
  }

  private static Product product(int i) {
    return new Product(i, "Sturdy Kettle #" + i,
        "A kettle for the kitchen, with a sturdy handle and a whistle. ".repeat(8), 2599 + i,
        List.of("kitchen", "kettle", "steel"));
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void roundTrip_smallerThanJson(Format format) {
    JacksonCodec<Product> codec = format.of(Product.class);
    Product product = product(42);

    byte[] bytes = codec.encode(product);

    assertThat(codec.decode(bytes)).isEqualTo(product);
    assertThat(bytes.length).as("%s bytes against JSON's", format)
        .isLessThan(JacksonCodec.json(Product.class).encode(product).length);
    assertThat(codec.toString()).containsIgnoringCase(format.name());
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void decode_readsInPlace_fromAnOffset(Format format) {
    JacksonCodec<Product> codec = format.of(Product.class);
    byte[] bytes = codec.encode(product(7));
    byte[] entry = new byte[bytes.length + 30];
    System.arraycopy(bytes, 0, entry, 27, bytes.length);
    entry[entry.length - 1] = (byte) 0xFF;

    assertThat(codec.decode(entry, 27, bytes.length)).isEqualTo(product(7));
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void decode_entryOfANewerBuild_skipsWhatItDoesNotKnow(Format format) {
    byte[] newer = format.of(Product.class).encode(product(3));

    assertThat(format.of(ProductV1.class).decode(newer))
        .isEqualTo(new ProductV1(3, "Sturdy Kettle #3"));
    assertThat(JacksonCodec.of(ProductV1.class, format.mapper).decode(newer))
        .as("with a mapper of the application's").isEqualTo(new ProductV1(3, "Sturdy Kettle #3"));
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void decode_garbageOrTruncated_failsWithIllegalArgument(Format format) {
    JacksonCodec<Product> codec = format.of(Product.class);
    byte[] bytes = codec.encode(product(1));

    assertThatThrownBy(() -> codec.decode(new byte[] {1, 2, 3, 4, 5}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> codec.decode(bytes, 0, bytes.length / 2))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @EnumSource(Format.class)
  void decode_classNamesInTheBytes_areData_neverInstantiated(Format format) {
    JacksonCodec<Holder> codec = format.of(Holder.class);
    // What a payload with default typing would look like: the bytes name a class.
    byte[] bytes = codec.encode(new Holder("h", List.of("java.lang.ProcessBuilder",
        Map.of("@class", "java.lang.ProcessBuilder", "command", List.of("id")))));

    Holder decoded = codec.decode(bytes);

    assertThat(decoded.payload()).isInstanceOf(List.class);
    assertThat((List<?>) decoded.payload()).allSatisfy(element ->
        assertThat(element).isInstanceOfAny(String.class, Map.class));
  }
}
