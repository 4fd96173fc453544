package dev.cacheaside.core;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.util.Objects;

/**
 * A {@link Codec} that writes JSON with Jackson 2 (an optional dependency of this module: add
 * {@code jackson-databind} to use it). Records work out of the box. Whatever the mapper says,
 * properties the type does not know are skipped when reading, so an entry written by a newer
 * version of the type (a field added) is still a hit; when a change is not compatible, give the
 * cache a new {@code schemaVersion}.
 *
 * <pre>{@code
 * Codec<Product> codec = JsonCodec.of(Product.class);
 * Codec<List<Product>> list = JsonCodec.of(mapper.getTypeFactory()
 *     .constructCollectionType(List.class, Product.class), mapper);
 * }</pre>
 *
 * @param <V> the value type
 * @since 0.1
 */
public final class JsonCodec<V> implements Codec<V> {
  private static final ObjectMapper DEFAULT_MAPPER = new ObjectMapper().findAndRegisterModules();

  private final ObjectReader reader;
  private final ObjectWriter writer;
  private final JavaType type;

  private JsonCodec(ObjectMapper mapper, JavaType type) {
    this.type = type;
    // Entries outlive deploys: code that does not know a field a newer version added must still
    // read the entry (a hit, not a corrupt entry deleted and rewritten in the old shape).
    this.reader = mapper.readerFor(type)
        .without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    this.writer = mapper.writerFor(type);
  }

  /** A codec for {@code type} with a default {@link ObjectMapper} (modules found on the class path). */
  public static <V> JsonCodec<V> of(Class<V> type) {
    return of(type, DEFAULT_MAPPER);
  }

  /** A codec for {@code type} with the given mapper. */
  public static <V> JsonCodec<V> of(Class<V> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(mapper, "mapper must not be null");
    return new JsonCodec<>(mapper, mapper.constructType(type));
  }

  /** A codec for a generic type, e.g. a collection type built with the mapper's type factory. */
  public static <V> JsonCodec<V> of(JavaType type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(mapper, "mapper must not be null");
    return new JsonCodec<>(mapper, type);
  }

  @Override
  public byte[] encode(V value) {
    try {
      return writer.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write " + type + " as JSON: " + e.getMessage(), e);
    }
  }

  @Override
  public V decode(byte[] bytes) {
    return decode(bytes, 0, bytes.length);
  }

  @Override
  public V decode(byte[] bytes, int offset, int length) {
    try {
      V value = reader.readValue(bytes, offset, length);
      if (value == null) {
        throw new IllegalArgumentException("JSON null is not a " + type);
      }
      return value;
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + type + " from JSON: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "JsonCodec[" + type + "]";
  }
}
