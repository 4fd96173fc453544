package dev.cacheaside.jackson;

import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.cbor.CBORMapper;
import tools.jackson.dataformat.cbor.CBORWriteFeature;
import tools.jackson.dataformat.smile.SmileMapper;

/**
 * The default mappers of the binary formats, each made on first use. The formats are optional
 * dependencies: every mention of a format's classes is inside its holder, which the JVM loads
 * only when that format is asked for, so {@link JacksonCodec} works without either jar and a
 * missing one fails with a message that names the artifact to add.
 */
final class BinaryFormats {
  private BinaryFormats() {}

  /** The default Smile mapper. */
  static ObjectMapper smile() {
    try {
      return Smile.MAPPER;
    } catch (NoClassDefFoundError e) {
      throw missing("smile", e);
    }
  }

  /** The default CBOR mapper. */
  static ObjectMapper cbor() {
    try {
      return Cbor.MAPPER;
    } catch (NoClassDefFoundError e) {
      throw missing("cbor", e);
    }
  }

  private static IllegalStateException missing(String format, NoClassDefFoundError e) {
    return new IllegalStateException("JacksonCodec." + format + " needs"
        + " tools.jackson.dataformat:jackson-dataformat-" + format + " on the class path (the"
        + " version of your Jackson 3 BOM): " + e.getMessage(), e);
  }

  private static final class Smile {
    static final ObjectMapper MAPPER = SmileMapper.builder().findAndAddModules().build();
  }

  private static final class Cbor {
    // The self-describe tag marks every entry as CBOR, so the codec can refuse bytes of another
    // codec (a JSON "5" is also a valid CBOR item, the integer -22).
    static final ObjectMapper MAPPER = CBORMapper.builder()
        .enable(CBORWriteFeature.WRITE_TYPE_HEADER).findAndAddModules().build();
  }
}
