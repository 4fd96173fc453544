package dev.cacheaside.compression;

import dev.cacheaside.core.CacheAsideDefaults;
import dev.cacheaside.core.Codec;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Codec} that compresses what another codec writes, when it is large: values of at least
 * {@link #threshold()} bytes are compressed with LZ4 or Zstandard, smaller ones are stored as they
 * are. The first byte of every entry says which (plain, LZ4 or Zstandard), so a cache reads
 * compressed and plain entries side by side: the threshold, and even the algorithm, can change in
 * a rolling deploy without a flush.
 *
 * <pre>{@code
 * CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("products")
 *     .store(store)
 *     .codec(CompressingCodec.zstd(JacksonCodec.smile(Product.class)).withThreshold(2048))
 *     .maxValueBytes(1024 * 1024)      // also the most a compressed entry may expand to
 *     .build();
 * }</pre>
 *
 * <h2>Entry layout</h2>
 * {@code 0x00} then the wrapped codec's bytes (plain); or {@code 0x01} (LZ4 block) or {@code 0x02}
 * (Zstandard frame), the uncompressed length as a 4-byte big-endian integer, then the compressed
 * bytes. A value that does not get smaller is stored plain. Adding this wrapper to a cache, or
 * taking it away, changes what its entries look like: raise the cache's {@code schemaVersion}
 * then, as for any change of codec.
 *
 * <h2>Bounded decompression</h2>
 * A cache built with this codec hands it its {@code maxValueBytes}
 * ({@link Codec#withMaxValueBytes}); used alone, the bound is
 * {@link CacheAsideDefaults#MAX_VALUE_BYTES}. An entry that declares more than that, expands past
 * what it declares (a bomb), makes fewer bytes than it declares, is truncated, or carries a
 * marker this codec does not know is refused with {@link IllegalArgumentException} from
 * {@code decode}, before anything larger than the bound is allocated: the cache counts it as a
 * corrupt entry, deletes it and loads the value (a miss), and no read ends in an
 * {@link OutOfMemoryError}. A value whose uncompressed bytes are over the bound is written plain,
 * so the cache serves it and does not store it, as it does any value over {@code maxValueBytes}.
 *
 * <h2>Libraries</h2>
 * {@code at.yawk.lz4:lz4-java} and {@code com.github.luben:zstd-jni} are optional dependencies of
 * this module: add the one you use. A codec reads the other algorithm's entries too when that
 * library is present; without it such an entry is corrupt (a miss). Native libraries are loaded
 * when the codec is made, not on the first read. Thread-safe.
 *
 * @param <V> the value type
 * @since 0.1
 */
public final class CompressingCodec<V> implements Codec<V> {
  /** The default threshold: values of at least 1 KiB are compressed. */
  public static final int DEFAULT_THRESHOLD = 1024;

  static final byte PLAIN = 0;
  /** The marker byte and the uncompressed length. */
  static final int HEADER = 5;

  private final Codec<V> codec;
  private final Compressor compressor;
  private final @Nullable Compressor lz4;
  private final @Nullable Compressor zstd;
  private final int threshold;
  private final int maxValueBytes;

  private CompressingCodec(Codec<V> codec, Compressor compressor, @Nullable Compressor lz4,
      @Nullable Compressor zstd, int threshold, int maxValueBytes) {
    this.codec = codec;
    this.compressor = compressor;
    this.lz4 = lz4;
    this.zstd = zstd;
    this.threshold = threshold;
    this.maxValueBytes = maxValueBytes;
  }

  /**
   * Compresses {@code codec}'s bytes with LZ4 (fast to compress and very fast to read; a smaller
   * gain than Zstandard's) when they are at least {@link #DEFAULT_THRESHOLD} bytes.
   *
   * @param codec the codec whose bytes are compressed
   * @param <V> the value type
   * @return the compressing codec
   * @throws IllegalStateException if lz4-java is not on the class path
   */
  public static <V> CompressingCodec<V> lz4(Codec<V> codec) {
    Objects.requireNonNull(codec, "codec must not be null");
    Compressor lz4 = Compressors.lz4();
    return new CompressingCodec<>(codec, lz4, lz4, Compressors.zstdOrNull(Zstd.DEFAULT_LEVEL),
        DEFAULT_THRESHOLD, CacheAsideDefaults.MAX_VALUE_BYTES);
  }

  /**
   * Compresses {@code codec}'s bytes with Zstandard at level 3 when they are at least
   * {@link #DEFAULT_THRESHOLD} bytes.
   *
   * @param codec the codec whose bytes are compressed
   * @param <V> the value type
   * @return the compressing codec
   * @throws IllegalStateException if zstd-jni is not on the class path
   */
  public static <V> CompressingCodec<V> zstd(Codec<V> codec) {
    return zstd(codec, Zstd.DEFAULT_LEVEL);
  }

  /**
   * Compresses {@code codec}'s bytes with Zstandard at {@code level} (1, fastest, to 22; higher
   * levels cost time on every store, not on reads) when they are at least
   * {@link #DEFAULT_THRESHOLD} bytes.
   *
   * @param codec the codec whose bytes are compressed
   * @param level the Zstandard level
   * @param <V> the value type
   * @return the compressing codec
   * @throws IllegalArgumentException if the level is out of range
   * @throws IllegalStateException if zstd-jni is not on the class path
   */
  public static <V> CompressingCodec<V> zstd(Codec<V> codec, int level) {
    Objects.requireNonNull(codec, "codec must not be null");
    Compressor zstd = Compressors.zstd(level);
    return new CompressingCodec<>(codec, zstd, Compressors.lz4OrNull(), zstd, DEFAULT_THRESHOLD,
        CacheAsideDefaults.MAX_VALUE_BYTES);
  }

  /**
   * This codec with another threshold: values of at least {@code bytes} bytes are compressed
   * (0 compresses every value). Entries written with any threshold stay readable.
   *
   * @param bytes the threshold, not negative
   * @return a codec like this one with that threshold
   * @throws IllegalArgumentException if {@code bytes} is negative
   */
  public CompressingCodec<V> withThreshold(int bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("threshold must not be negative, was " + bytes);
    }
    return new CompressingCodec<>(codec, compressor, lz4, zstd, bytes, maxValueBytes);
  }

  /**
   * The size from which values are compressed, in bytes of the wrapped codec's output.
   *
   * @return the threshold
   */
  public int threshold() {
    return threshold;
  }

  /**
   * This codec bounded by a cache's {@code maxValueBytes}: the most an entry may expand to.
   * Called by the cache when it is built.
   *
   * @throws IllegalArgumentException if {@code maxValueBytes} is not positive
   */
  @Override
  public CompressingCodec<V> withMaxValueBytes(int maxValueBytes) {
    if (maxValueBytes <= 0) {
      throw new IllegalArgumentException("maxValueBytes must be positive, was " + maxValueBytes);
    }
    return new CompressingCodec<>(codec.withMaxValueBytes(maxValueBytes), compressor, lz4, zstd,
        threshold, maxValueBytes);
  }

  @Override
  public byte[] encode(V value) {
    byte[] raw = Objects.requireNonNull(codec.encode(value), "the wrapped codec returned null");
    // Over the bound it is written plain: one byte longer, so the cache refuses to store it
    // (served, not cached), as it would a compressed entry no reader could expand.
    if (raw.length < threshold || raw.length > maxValueBytes) {
      return plain(raw);
    }
    byte[] out = new byte[HEADER + compressor.maxCompressedLength(raw.length)];
    int compressed = compressor.compress(raw, 0, raw.length, out, HEADER);
    if (HEADER + compressed >= 1 + raw.length) {
      return plain(raw); // incompressible: smaller plain, and cheaper to read
    }
    out[0] = compressor.marker();
    out[1] = (byte) (raw.length >>> 24);
    out[2] = (byte) (raw.length >>> 16);
    out[3] = (byte) (raw.length >>> 8);
    out[4] = (byte) raw.length;
    return Arrays.copyOf(out, HEADER + compressed);
  }

  private static byte[] plain(byte[] raw) {
    byte[] out = new byte[1 + raw.length];
    System.arraycopy(raw, 0, out, 1, raw.length);
    return out;
  }

  @Override
  public V decode(byte[] bytes) {
    return decode(bytes, 0, bytes.length);
  }

  @Override
  public V decode(byte[] bytes, int offset, int length) {
    if (length < 1) {
      throw new IllegalArgumentException("an empty entry has no compression marker");
    }
    byte marker = bytes[offset];
    if (marker == PLAIN) {
      return codec.decode(bytes, offset + 1, length - 1);
    }
    Compressor reader = reader(marker);
    if (length < HEADER) {
      throw new IllegalArgumentException("a compressed entry of " + length + " bytes is"
          + " truncated: its header alone is " + HEADER);
    }
    int declared = ((bytes[offset + 1] & 0xFF) << 24) | ((bytes[offset + 2] & 0xFF) << 16)
        | ((bytes[offset + 3] & 0xFF) << 8) | (bytes[offset + 4] & 0xFF);
    if (declared < 0 || declared > maxValueBytes) {
      throw new IllegalArgumentException("a compressed entry declares " + (declared & 0xFFFFFFFFL)
          + " bytes, over maxValueBytes " + maxValueBytes);
    }
    byte[] raw = new byte[declared];
    reader.decompress(bytes, offset + HEADER, length - HEADER, raw);
    return codec.decode(raw, 0, declared);
  }

  private Compressor reader(byte marker) {
    Compressor reader = marker == Lz4.MARKER ? lz4 : marker == Zstd.MARKER ? zstd : null;
    if (reader != null) {
      return reader;
    }
    if (marker == Lz4.MARKER || marker == Zstd.MARKER) {
      throw new IllegalArgumentException("an entry compressed with "
          + (marker == Lz4.MARKER ? "LZ4" : "Zstandard") + " needs "
          + Compressors.library(marker) + " on the class path to be read");
    }
    throw new IllegalArgumentException("unknown compression marker 0x"
        + Integer.toHexString(marker & 0xFF));
  }

  @Override
  public String toString() {
    return "CompressingCodec[" + compressor + " from " + threshold + " bytes, at most "
        + maxValueBytes + " bytes, " + codec + "]";
  }
}
