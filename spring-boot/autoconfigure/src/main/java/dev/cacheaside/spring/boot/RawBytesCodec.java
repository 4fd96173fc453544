package dev.cacheaside.spring.boot;

import dev.cacheaside.core.Codec;
import java.util.Arrays;

/**
 * The codec of a Spring cache's {@code CacheAside}: the value is already the bytes. The JSON is
 * written and read by the cache's views, each with the type of the method it serves, so one
 * {@code CacheAside} (one in-flight map, one set of counters, one namespace) serves every method
 * that names the cache.
 */
enum RawBytesCodec implements Codec<byte[]> {
  INSTANCE;

  @Override
  public byte[] encode(byte[] value) {
    return value;
  }

  @Override
  public byte[] decode(byte[] bytes) {
    return bytes;
  }

  @Override
  public byte[] decode(byte[] bytes, int offset, int length) {
    return offset == 0 && length == bytes.length ? bytes
        : Arrays.copyOfRange(bytes, offset, offset + length);
  }
}
