package dev.cacheaside.jackson;

import dev.cacheaside.core.Codec;
import java.lang.reflect.Type;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/**
 * A {@link Codec} on Jackson 3 ({@code tools.jackson}): the value is written by the given mapper
 * (JSON with a {@link JsonMapper}; a binary format with that format's mapper) for one declared
 * type, and read back as that type.
 *
 * <pre>{@code
 * Codec<Product> products = JacksonCodec.json(Product.class);               // a default JsonMapper
 * Codec<Product> same = JacksonCodec.of(Product.class, applicationJsonMapper);
 * Codec<Product> smaller = JacksonCodec.smile(Product.class);   // needs jackson-dataformat-smile
 * Codec<Product> cbor = JacksonCodec.cbor(Product.class);       // needs jackson-dataformat-cbor
 * Codec<Product> tuned = JacksonCodec.of(Product.class, SmileMapper.builder().build());
 * Codec<List<Product>> lists = JacksonCodec.of(
 *     mapper.getTypeFactory().constructCollectionType(List.class, Product.class), mapper);
 * }</pre>
 *
 * <h2>What it promises</h2>
 * <ul>
 *   <li>Thread-safe and allocation-light: one {@link ObjectReader} and one {@link ObjectWriter},
 *       built once; {@link #decode(byte[], int, int)} reads the codec's bytes in place, where the
 *       store's entry holds them after its header, without copying them out.</li>
 *   <li>Tolerant: properties the declared type does not know are skipped whatever the mapper's
 *       setting, so an instance of an older build reads an entry that a newer build wrote with a
 *       field added (a hit, not a corrupt entry). A property missing from the bytes (written by an
 *       older build) gets the type's default ({@code 0}, {@code false}, {@code null}), also for
 *       primitives, where Jackson 3 would otherwise fail.</li>
 *   <li>No class names from the bytes: the type to read is the one given here. The codec adds no
 *       type information of its own; a mapper configured with default typing would, so do not give
 *       it one (it would make the stored bytes name the classes to instantiate).</li>
 * </ul>
 *
 * <h2>Binary formats</h2>
 * Smile and CBOR are Jackson's binary encodings of the same data model as JSON: the same
 * annotations and the same mapping, so switching a cache from JSON to one of them changes the
 * bytes, not the code (raise the cache's {@code schemaVersion} when switching: the old entries
 * are then misses, not corrupt entries). Each format is an optional dependency of this module:
 * add {@code tools.jackson.dataformat:jackson-dataformat-smile} or {@code -cbor} (the version of
 * your Jackson 3 BOM). Neither adds type information, and neither reads a class name from the
 * bytes.
 *
 * <p>A value that cannot be written throws from {@link #encode} (the core then fails the call and
 * stores nothing); bytes that cannot be read, or that hold JSON {@code null}, throw from
 * {@code decode} (the core treats the entry as corrupt: a miss, the entry deleted).
 *
 * @param <V> the value type
 * @since 0.1
 */
public final class JacksonCodec<V> implements Codec<V> {
  private static final JsonMapper DEFAULT_MAPPER = JsonMapper.builder().findAndAddModules().build();
  private static final byte[] CBOR_SELF_DESCRIBE = {(byte) 0xD9, (byte) 0xD9, (byte) 0xF7};

  private final ObjectReader reader;
  private final ObjectWriter writer;
  private final JavaType type;
  private final String format;
  /**
   * What every value this codec reads must begin with, or null: the CBOR self-describe tag when
   * the mapper writes it. CBOR has no header of its own, and some bytes of other codecs are valid
   * CBOR items (a JSON {@code 5} is the integer -22), so without the tag an entry written by
   * another codec under the same cache name could be read as a wrong value.
   */
  private final byte @Nullable [] header;

  private JacksonCodec(ObjectMapper mapper, JavaType type) {
    this.type = type;
    this.format = mapper.tokenStreamFactory().getFormatName();
    // Entries outlive deployments, both ways round in a rolling deploy: a newer build may have
    // added properties (skipped here even if the application's mapper fails on them for its HTTP
    // bodies), and an older build wrote entries without the newer build's primitive fields
    // (Jackson 3 fails on those by default; here they get the type's default).
    this.reader = mapper.readerFor(type).without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES,
        DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    this.writer = mapper.writerFor(type);
    this.header = "CBOR".equals(format) && writesSelfDescribeTag(mapper) ? CBOR_SELF_DESCRIBE
        : null;
  }

  /**
   * Whether {@code mapper} starts what it writes with CBOR's self-describe tag (RFC 8949 3.4.6;
   * {@code CBORWriteFeature.WRITE_TYPE_HEADER}, on in {@link #cbor(Class)}'s mapper). Found by
   * writing a probe rather than by asking the factory, so this class needs no CBOR class.
   */
  private static boolean writesSelfDescribeTag(ObjectMapper mapper) {
    try {
      byte[] probe = mapper.writeValueAsBytes(0);
      return startsWith(probe, 0, probe.length, CBOR_SELF_DESCRIBE);
    } catch (JacksonException e) {
      return false;
    }
  }

  private static boolean startsWith(byte[] bytes, int offset, int length, byte[] prefix) {
    if (length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (bytes[offset + i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * A JSON codec for {@code type} with a default {@link JsonMapper} (Jackson 3 as built, plus the
   * modules found on the class path).
   */
  public static <V> JacksonCodec<V> json(Class<V> type) {
    return of(type, DEFAULT_MAPPER);
  }

  /**
   * A Smile codec for {@code type}: Jackson's binary JSON, with a default {@code SmileMapper}
   * (plus the modules found on the class path). Smaller than JSON and faster to read, with the
   * same mapping; property names repeated within one value are written once.
   *
   * @throws IllegalStateException at once when {@code jackson-dataformat-smile} is not on the
   *     class path
   */
  public static <V> JacksonCodec<V> smile(Class<V> type) {
    return of(type, BinaryFormats.smile());
  }

  /**
   * A CBOR codec for {@code type} (RFC 8949), with a default {@code CBORMapper} (plus the modules
   * found on the class path): a standard binary format other languages read too.
   *
   * @throws IllegalStateException at once when {@code jackson-dataformat-cbor} is not on the
   *     class path
   */
  public static <V> JacksonCodec<V> cbor(Class<V> type) {
    return of(type, BinaryFormats.cbor());
  }

  /**
   * A codec for {@code type} with {@code mapper}: JSON for a {@link JsonMapper}, the mapper's own
   * format otherwise.
   */
  public static <V> JacksonCodec<V> of(Class<V> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(mapper, "mapper must not be null");
    return new JacksonCodec<>(mapper, mapper.constructType(type));
  }

  /**
   * A codec for a generic type, e.g. built with the mapper's type factory, or taken from a
   * method's generic return type ({@link #of(Type, ObjectMapper)}).
   */
  public static <V> JacksonCodec<V> of(JavaType type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(mapper, "mapper must not be null");
    return new JacksonCodec<>(mapper, type);
  }

  /**
   * A codec for a reflected type, such as {@code List<Product>} from a method's generic return
   * type. The caller vouches that values are of that type; nothing checks it at compile time.
   */
  public static <V> JacksonCodec<V> of(Type type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(mapper, "mapper must not be null");
    return new JacksonCodec<>(mapper, mapper.getTypeFactory().constructType(type));
  }

  /** The default mapper of {@link #json(Class)}: a {@link JsonMapper} with the class path's modules. */
  public static JsonMapper defaultMapper() {
    return DEFAULT_MAPPER;
  }

  /** The type this codec writes and reads. */
  public JavaType type() {
    return type;
  }

  @Override
  public byte[] encode(V value) {
    try {
      return writer.writeValueAsBytes(value);
    } catch (JacksonException e) {
      throw new IllegalArgumentException("cannot write " + type + ": " + e.getOriginalMessage(), e);
    }
  }

  @Override
  public V decode(byte[] bytes) {
    return decode(bytes, 0, bytes.length);
  }

  @Override
  public V decode(byte[] bytes, int offset, int length) {
    if (header != null && !startsWith(bytes, offset, length, header)) {
      throw new IllegalArgumentException("cannot read " + type + ": not a CBOR value with the"
          + " self-describe tag this codec writes (an entry of another codec?)");
    }
    V value;
    try {
      value = reader.readValue(bytes, offset, length);
    } catch (JacksonException e) {
      throw new IllegalArgumentException("cannot read " + type + ": " + e.getOriginalMessage(), e);
    }
    if (value == null) {
      throw new IllegalArgumentException("a null is not a " + type);
    }
    return value;
  }

  @Override
  public String toString() {
    return "JacksonCodec[" + format + ", " + type + "]";
  }
}
