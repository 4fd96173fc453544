package dev.cacheaside.core;

import java.nio.charset.StandardCharsets;

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
 */
public interface Codec<V> {

  /** Serializes a value; never returns {@code null}. */
  byte[] encode(V value);

  /** Deserializes bytes written by {@link #encode}; never returns {@code null}. */
  V decode(byte[] bytes);

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
  }
}
