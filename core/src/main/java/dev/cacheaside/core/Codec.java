package dev.cacheaside.core;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns values into bytes for the store and back. Implementations must be thread-safe and should
 * be fast: {@link #decode} runs on every cache hit.
 *
 * <p>A codec that throws from {@link #decode} makes that entry a miss (counted, deleted, loaded
 * again); one that throws from {@link #encode} fails the call with a {@link CodecException} and
 * nothing is stored. Java serialization is deliberately not offered.
 *
 * <pre>{@code
 * Codec<Product> json = JsonCodec.of(Product.class);
 * Codec<String> text = Codec.utf8();
 * }</pre>
 *
 * @param <V> the value type
 * @since 0.1
 */
public interface Codec<V> {

  /** Serializes a value; never returns {@code null}. */
  byte[] encode(V value);

  /** Deserializes bytes written by {@link #encode}; never returns {@code null}. */
  V decode(byte[] bytes);

  /**
   * Deserializes {@code length} bytes of {@code bytes} from {@code offset}: the store's entry
   * holds a header before the codec's bytes, and this lets a codec read them in place. The
   * default copies the range and calls {@link #decode(byte[])}; override it to avoid the copy.
   */
  default V decode(byte[] bytes, int offset, int length) {
    return decode(offset == 0 && length == bytes.length ? bytes
        : Arrays.copyOfRange(bytes, offset, offset + length));
  }

  /**
   * This codec as used by a cache whose values may be at most {@code maxValueBytes} long; the
   * cache calls it once, when it is built, and uses the codec returned. The default returns this
   * codec. A codec whose {@link #decode} can produce more bytes than it is given (a decompressing
   * one) returns a copy that refuses to, so a small entry that declares or expands to a huge value
   * is a corrupt entry (a miss), never an {@link OutOfMemoryError}.
   *
   * @param maxValueBytes the cache's {@code maxValueBytes}, positive
   * @return the codec the cache uses, never {@code null}
   */
  default Codec<V> withMaxValueBytes(int maxValueBytes) {
    return this;
  }

  /** A codec for strings as UTF-8. */
  static Codec<String> utf8() {
    return Utf8Codec.INSTANCE;
  }

  /** The UTF-8 string codec. */
  enum Utf8Codec implements Codec<String> {
    INSTANCE;

    @Override
    public byte[] encode(String value) {
      return value.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String decode(byte[] bytes) {
      return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public String decode(byte[] bytes, int offset, int length) {
      return new String(bytes, offset, length, StandardCharsets.UTF_8);
    }
  }
}
