package dev.cacheaside.compression;

import com.github.luben.zstd.ZstdException;
import org.jspecify.annotations.Nullable;

/**
 * Zstandard frames through zstd-jni. Decompression is the one-shot call into a buffer of the
 * declared size: the library writes into that buffer only and reports an error when the frame
 * needs more, so neither a bomb nor a frame header that declares a huge size or window allocates
 * anything beyond it.
 */
final class Zstd implements Compressor {
  static final byte MARKER = 2;
  static final int DEFAULT_LEVEL = 3;

  private final int level;

  Zstd(int level) {
    // The first touch of the class loads the native library (a file extracted to a temporary
    // folder): made here, when the codec is made, never on the first read on an event loop.
    int max = com.github.luben.zstd.Zstd.maxCompressionLevel();
    if (level < 1 || level > max) {
      throw new IllegalArgumentException("Zstandard level must be between 1 and " + max
          + ", was " + level);
    }
    this.level = level;
  }

  @Override
  public byte marker() {
    return MARKER;
  }

  @Override
  public int maxCompressedLength(int length) {
    return Math.toIntExact(com.github.luben.zstd.Zstd.compressBound(length));
  }

  @Override
  public int compress(byte[] src, int off, int len, byte[] dest, int destOff) {
    long made;
    try {
      made = com.github.luben.zstd.Zstd.compressByteArray(dest, destOff, dest.length - destOff,
          src, off, len, level);
    } catch (ZstdException e) {
      throw new IllegalStateException("Zstandard cannot compress: " + e.getMessage(), e);
    }
    if (com.github.luben.zstd.Zstd.isError(made)) {
      throw new IllegalStateException("Zstandard cannot compress: "
          + com.github.luben.zstd.Zstd.getErrorName(made));
    }
    return (int) made;
  }

  @Override
  public void decompress(byte[] src, int off, int len, byte[] dest) {
    long made;
    try {
      // Errors come back as a ZstdException in this zstd-jni, as an error code in older ones.
      made = com.github.luben.zstd.Zstd.decompressByteArray(dest, 0, dest.length, src, off, len);
    } catch (ZstdException e) {
      throw malformed(dest.length, e.getMessage(), e);
    }
    if (com.github.luben.zstd.Zstd.isError(made)) {
      throw malformed(dest.length, com.github.luben.zstd.Zstd.getErrorName(made), null);
    }
    if (made != dest.length) {
      throw new IllegalArgumentException("Zstandard data expands to " + made + " bytes, not the "
          + dest.length + " its header declares");
    }
  }

  private static IllegalArgumentException malformed(int declared, String why,
      @Nullable Throwable cause) {
    return new IllegalArgumentException("Zstandard data is malformed or expands past the "
        + declared + " bytes its header declares: " + why, cause);
  }

  @Override
  public String toString() {
    return "zstd level " + level;
  }
}
