package dev.cacheaside.jackson;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.Codec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.cbor.CBORMapper;

/**
 * Hostile bytes for the binary formats: lengths that declare gigabytes, nesting as deep as the
 * bytes allow, another format's entry. Each must be a corrupt entry (IllegalArgumentException),
 * never an OutOfMemoryError or a StackOverflowError.
 */
class BinaryFormatsAttacksTest {
  record Product(long id, String name) {}

  private static byte[] concat(byte[] head, byte[] tail) {
    byte[] out = Arrays.copyOf(head, head.length + tail.length);
    System.arraycopy(tail, 0, out, head.length, tail.length);
    return out;
  }

  /** CBOR's self-describe tag, which {@code JacksonCodec.cbor} writes and requires. */
  private static final byte[] CBOR_TAG = {(byte) 0xD9, (byte) 0xD9, (byte) 0xF7};

  @Test
  void cbor_declaredLengthsOfGigabytes_corruptNotOutOfMemory() {
    byte[][] entries = {
        {0x5A, 0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 2, 3}, // bytes, 2 GiB
        {0x7A, 0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 'a', 'b'}, // text, 2 GiB
        {0x5B, 0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
            (byte) 0xFF, (byte) 0xFF, 1}, // bytes, 2^63 - 1
        {(byte) 0x9A, 0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1}, // array of 2^31 - 1
        {(byte) 0xBA, 0x7F, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x61, 'a', 1}, // map
    };
    for (Class<?> type : List.of(String.class, byte[].class, Object.class, Product.class,
        List.class)) {
      Codec<?> codec = JacksonCodec.cbor(type);
      for (byte[] body : entries) {
        byte[] entry = concat(CBOR_TAG, body);
        assertThatThrownBy(() -> codec.decode(entry)).as("%s from %s", type,
            Arrays.toString(entry)).isInstanceOf(IllegalArgumentException.class);
      }
    }
  }

  @Test
  void smile_declaredLengthsOfGigabytes_corruptNotOutOfMemory() {
    byte[] header = {':', ')', '\n', 0};
    byte[][] bodies = {
        // 7-bit encoded binary (0xE8), then a VInt length of about 2^31, then little
        {(byte) 0xE8, 0x07, 0x7F, 0x7F, 0x7F, (byte) 0xBF, 1, 2},
        // raw binary (0xFD), VInt length of about 2^31
        {(byte) 0xFD, 0x07, 0x7F, 0x7F, 0x7F, (byte) 0xBF, 1, 2},
        // a start-array, then an end of input
        {(byte) 0xF8},
    };
    for (Class<?> type : List.of(String.class, byte[].class, Object.class, Product.class)) {
      Codec<?> codec = JacksonCodec.smile(type);
      for (byte[] body : bodies) {
        byte[] entry = concat(header, body);
        assertThatThrownBy(() -> codec.decode(entry)).as("%s from %s", type,
            Arrays.toString(entry)).isInstanceOf(IllegalArgumentException.class);
      }
    }
  }

  @Test
  void deepNesting_corruptNotStackOverflow() {
    int depth = 200_000;
    byte[] nested = new byte[depth + 1];
    Arrays.fill(nested, (byte) 0x81); // an array of one element, nested
    nested[depth] = 0x01;
    byte[] cbor = concat(CBOR_TAG, nested);
    assertThatThrownBy(() -> JacksonCodec.cbor(Object.class).decode(cbor))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> JacksonCodec.cbor(List.class).decode(cbor))
        .isInstanceOf(IllegalArgumentException.class);

    byte[] json = ("[".repeat(depth) + "1" + "]".repeat(depth)).getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> JacksonCodec.json(Object.class).decode(json))
        .isInstanceOf(IllegalArgumentException.class);
    byte[] smile = JacksonCodec.smile(Object.class).encode(List.of(List.of(1)));
    assertThat(JacksonCodec.smile(Object.class).decode(smile)).isEqualTo(List.of(List.of(1)));
  }

  /** A JSON entry read by a Smile codec: Smile's header is required, so it is corrupt. */
  @Test
  void jsonEntry_readBySmile_corrupt() {
    for (Object value : List.of(new Product(7, "kettle"), "kettle", 123L, 5L)) {
      byte[] json = JacksonCodec.json(Object.class).encode(value);
      @SuppressWarnings("unchecked")
      Codec<Object> smile = (Codec<Object>) (Codec<?>) JacksonCodec.smile(value.getClass());
      assertThatThrownBy(() -> smile.decode(json)).as("%s as JSON", value)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * A JSON entry read by a CBOR codec (a cache switched from JSON to CBOR without raising its
   * schemaVersion, against the advice): corrupt, even a one-digit JSON number ({@code 5}, byte
   * 0x35), which is a valid CBOR item (the integer -22): the codec writes CBOR's self-describe tag
   * and refuses bytes without it.
   */
  @Test
  void jsonEntry_readByCbor_corrupt_evenOneDigit() {
    record Case(Object value, Class<?> type) {}
    for (Case c : List.of(new Case(new Product(7, "kettle"), Product.class),
        new Case("kettle", String.class), new Case(123L, Long.class), new Case(-5L, Long.class),
        new Case(5L, Long.class), new Case(0, Integer.class), new Case(List.of(1), List.class))) {
      byte[] json = JacksonCodec.json(Object.class).encode(c.value());
      assertThatThrownBy(() -> JacksonCodec.cbor(c.type()).decode(json)).as("%s", c.value())
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * Entries of the CBOR codec keep their tag whatever the value; a mapper of the application's
   * that does not write the tag reads and writes without it (it asked for plain CBOR), and reads
   * the codec's tagged entries too.
   */
  @Test
  void cborTag_writtenAlways_requiredOnlyWhenTheMapperWritesIt() {
    for (Object value : List.of(5L, "", List.of(), new Product(1, "k"))) {
      assertThat(JacksonCodec.cbor(Object.class).encode(value)).as("%s", value)
          .startsWith(CBOR_TAG);
    }
    ObjectMapper plain = CBORMapper.builder().build();
    JacksonCodec<Long> untagged = JacksonCodec.of(Long.class, plain);
    assertThat(untagged.encode(5L)).containsExactly(0x05);
    assertThat(untagged.decode(new byte[] {0x05})).isEqualTo(5L);
    assertThat(untagged.decode(JacksonCodec.cbor(Long.class).encode(5L))).isEqualTo(5L);
    assertThatThrownBy(() -> JacksonCodec.cbor(Long.class).decode(new byte[] {0x05}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("self-describe tag");
  }

  /**
   * Bytes that carry the CBOR tag but no sound value after it, and tagged values read through a
   * region of a larger array (as a wrapping codec, such as compression's, passes them): each is a
   * corrupt entry, and the tag must be at the region's start, not before it.
   */
  @Test
  void cborTag_withoutASoundValueAfterIt_orOutsideTheRegion_corrupt() {
    JacksonCodec<Product> codec = JacksonCodec.cbor(Product.class);
    byte[] entry = codec.encode(new Product(7, "kettle"));
    byte[][] broken = {
        CBOR_TAG, // the tag alone
        concat(CBOR_TAG, new byte[] {(byte) 0xFF}), // a break
        concat(CBOR_TAG, new byte[] {0x1C}), // a reserved initial byte
        concat(CBOR_TAG, new byte[] {(byte) 0xF6}), // null
        concat(entry, new byte[] {5}), // a second item after the value
        concat(entry, entry), // the entry twice
        Arrays.copyOf(entry, entry.length - 1), // cut short
        JacksonCodec.smile(Product.class).encode(new Product(7, "kettle")),
    };
    for (byte[] bytes : broken) {
      assertThatThrownBy(() -> codec.decode(bytes)).as(Arrays.toString(bytes))
          .isInstanceOf(IllegalArgumentException.class);
    }
    byte[] framed = concat(new byte[] {0}, entry);
    assertThat(codec.decode(framed, 1, entry.length)).isEqualTo(new Product(7, "kettle"));
    assertThatThrownBy(() -> codec.decode(concat(CBOR_TAG, framed), 3 + 1, 2))
        .as("a region shorter than the tag").isInstanceOf(IllegalArgumentException.class);
    byte[] tagBeforeRegion = concat(CBOR_TAG, Arrays.copyOfRange(entry, 3, entry.length));
    assertThat(codec.decode(tagBeforeRegion)).isEqualTo(new Product(7, "kettle"));
    assertThatThrownBy(() -> codec.decode(concat(new byte[] {0}, tagBeforeRegion), 4,
        entry.length - 3)).as("the tag before the region")
        .isInstanceOf(IllegalArgumentException.class);
  }
}
