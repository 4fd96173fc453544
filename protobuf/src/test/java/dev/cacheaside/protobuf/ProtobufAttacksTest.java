package dev.cacheaside.protobuf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Hostile bytes for {@link ProtobufCodec}: lengths that declare gigabytes, nesting past the
 * parser's limit, JSON bytes, another message type's bytes, a huge repeated field within a
 * sane size.
 */
class ProtobufAttacksTest {
  private final ProtobufCodec<Struct> structs = ProtobufCodec.of(Struct.parser());

  private static void varint(ByteArrayOutputStream out, long value) {
    while ((value & ~0x7FL) != 0) {
      out.write((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.write((int) value);
  }

  @Test
  void declaredLengthsOfGigabytes_corruptNotOutOfMemory() {
    for (long length : new long[] {Integer.MAX_VALUE, 0xFFFFFFFFL, Long.MAX_VALUE}) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(0x0A); // field 1, length-delimited (Struct.fields, a map entry)
      varint(out, length);
      out.write(1);
      byte[] entry = out.toByteArray();
      assertThatThrownBy(() -> structs.decode(entry)).as("declares %d", length)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void nestingPastTheLimit_corruptNotStackOverflow() {
    Value value = Value.newBuilder().setNumberValue(1).build();
    for (int i = 0; i < 200; i++) {
      value = Value.newBuilder().setListValue(ListValue.newBuilder().addValues(value)).build();
    }
    byte[] deep = value.toByteArray();
    assertThatThrownBy(() -> ProtobufCodec.of(Value.parser()).decode(deep))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void jsonBytes_corrupt() {
    byte[] json = "{\"fields\":{\"a\":1}}".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> structs.decode(json)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Another message type's bytes: protobuf cannot tell, a field of the wrong wire type is kept as
   * an unknown field. Recorded: the value read is the default message, not an error; the
   * schemaVersion is the guard against it.
   */
  @Test
  void anotherMessageTypesBytes_readAsADefaultWithUnknownFields() {
    Value number = Value.newBuilder().setNumberValue(42).build(); // field 2, fixed64
    Struct read = structs.decode(number.toByteArray());
    assertThat(read.getFieldsCount()).isZero();
    assertThat(read.getUnknownFields().asMap()).containsKey(2);
  }

  @Test
  void hugeRepeatedField_withinAMegabyte_readInBoundedTime() {
    // 500,000 empty list elements in one megabyte: a value, not a bomb.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < 500_000; i++) {
      out.write(0x0A); // ListValue.values, field 1, length-delimited
      out.write(0);
    }
    byte[] entry = out.toByteArray();
    assertThat(ProtobufCodec.of(ListValue.parser()).decode(entry).getValuesCount())
        .isEqualTo(500_000);
  }
}
