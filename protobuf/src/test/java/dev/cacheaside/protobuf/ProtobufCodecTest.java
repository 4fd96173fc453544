package dev.cacheaside.protobuf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The codec on messages whose type is known only at run time ({@link DynamicMessage}, so no
 * protoc step in the build) and on a generated one ({@link Struct}).
 */
class ProtobufCodecTest {
  /** Product v2: id, name, description, tags. */
  private static final Descriptor PRODUCT = descriptor("Product", true);
  /** Product v1, an older build: id and name only. */
  private static final Descriptor PRODUCT_V1 = descriptor("Product", false);

  private static Descriptor descriptor(String name, boolean withNewerFields) {
    DescriptorProto.Builder message = DescriptorProto.newBuilder().setName(name)
        .addField(field("id", 1, Type.TYPE_INT64, Label.LABEL_OPTIONAL))
        .addField(field("name", 2, Type.TYPE_STRING, Label.LABEL_OPTIONAL));
    if (withNewerFields) {
      message.addField(field("description", 3, Type.TYPE_STRING, Label.LABEL_OPTIONAL))
          .addField(field("tags", 4, Type.TYPE_STRING, Label.LABEL_REPEATED));
    }
    FileDescriptorProto file = FileDescriptorProto.newBuilder()
        .setName("product" + withNewerFields + ".proto").setSyntax("proto3")
        .addMessageType(message).build();
    try {
      return FileDescriptor.buildFrom(file, new FileDescriptor[0]).findMessageTypeByName(name);
    } catch (DescriptorValidationException e) {
      throw new AssertionError(e);
    }
  }

  private static FieldDescriptorProto field(String name, int number, Type type, Label label) {
    return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
        .setLabel(label).build();
  }

  private static DynamicMessage product(long id) {
    return DynamicMessage.newBuilder(PRODUCT)
        .setField(PRODUCT.findFieldByName("id"), id)
        .setField(PRODUCT.findFieldByName("name"), "Sturdy Kettle #" + id)
        .setField(PRODUCT.findFieldByName("description"), "A kettle with a whistle. ".repeat(4))
        .addRepeatedField(PRODUCT.findFieldByName("tags"), "kitchen")
        .addRepeatedField(PRODUCT.findFieldByName("tags"), "steel")
        .build();
  }

  private final ProtobufCodec<DynamicMessage> codec =
      ProtobufCodec.of(DynamicMessage.getDefaultInstance(PRODUCT));

  @Test
  void roundTrip_dynamicMessage() {
    DynamicMessage product = product(42);

    assertThat(codec.decode(codec.encode(product))).isEqualTo(product);
  }

  @Test
  void roundTrip_generatedMessage_withItsParser() {
    ProtobufCodec<Struct> structs = ProtobufCodec.of(Struct.parser());
    Struct struct = Struct.newBuilder()
        .putFields("name", Value.newBuilder().setStringValue("kettle").build()).build();

    assertThat(structs.decode(structs.encode(struct))).isEqualTo(struct);
    assertThat(structs.toString()).contains("ProtobufCodec");
  }

  @Test
  void decode_readsInPlace_fromAnOffset() {
    byte[] bytes = codec.encode(product(7));
    byte[] entry = new byte[bytes.length + 30];
    System.arraycopy(bytes, 0, entry, 27, bytes.length);
    Arrays.fill(entry, 27 + bytes.length, entry.length, (byte) 0xFF);

    assertThat(codec.decode(entry, 27, bytes.length)).isEqualTo(product(7));
  }

  @Test
  void entryOfANewerBuild_readByAnOlderOne_keepsWhatItDoesNotKnow() {
    ProtobufCodec<DynamicMessage> older =
        ProtobufCodec.of(DynamicMessage.getDefaultInstance(PRODUCT_V1));

    DynamicMessage read = older.decode(codec.encode(product(3)));

    assertThat(read.getField(PRODUCT_V1.findFieldByName("name"))).isEqualTo("Sturdy Kettle #3");
    // Written again by the older build, the newer fields survive as unknown fields.
    assertThat(codec.decode(older.encode(read))).isEqualTo(product(3));
  }

  @Test
  void entryOfAnOlderBuild_readByANewerOne_givesDefaults() {
    DynamicMessage v1 = DynamicMessage.newBuilder(PRODUCT_V1)
        .setField(PRODUCT_V1.findFieldByName("id"), 5L).build();

    DynamicMessage read = codec.decode(
        ProtobufCodec.of(DynamicMessage.getDefaultInstance(PRODUCT_V1)).encode(v1));

    assertThat(read.getField(PRODUCT.findFieldByName("id"))).isEqualTo(5L);
    assertThat(read.getField(PRODUCT.findFieldByName("description"))).isEqualTo("");
  }

  @Test
  void decode_truncatedOrMalformed_throwsIllegalArgument() {
    byte[] bytes = codec.encode(product(9));

    assertThatThrownBy(() -> codec.decode(Arrays.copyOf(bytes, bytes.length - 5)))
        .isInstanceOf(IllegalArgumentException.class);
    // Field 1 as a varint that never ends.
    assertThatThrownBy(() -> codec.decode(new byte[] {0x08, (byte) 0xFF, (byte) 0xFF}))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void of_null_failsAtOnce() {
    assertThatThrownBy(() -> ProtobufCodec.of((DynamicMessage) null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("defaultInstance");
    assertThatThrownBy(() -> ProtobufCodec.of((com.google.protobuf.Parser<Struct>) null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("parser");
  }
}
