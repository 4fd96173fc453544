package dev.cacheaside.compression;

import org.jspecify.annotations.Nullable;

/**
 * Finds the compressors whose libraries are on the class path. Both are optional dependencies:
 * {@link Lz4} and {@link Zstd} are the only classes that mention them, and a class whose library
 * is missing fails to link when it is first made, which is caught here.
 */
final class Compressors {
  private Compressors() {}

  /** LZ4, or null without lz4-java (or without a usable build of it). */
  static @Nullable Compressor lz4OrNull() {
    try {
      return new Lz4();
    } catch (LinkageError e) {
      return null;
    }
  }

  /** Zstandard at {@code level}, or null without zstd-jni (or its native library). */
  static @Nullable Compressor zstdOrNull(int level) {
    try {
      return new Zstd(level);
    } catch (LinkageError e) {
      return null;
    }
  }

  static Compressor lz4() {
    Compressor lz4 = lz4OrNull();
    if (lz4 == null) {
      throw new IllegalStateException("CompressingCodec.lz4 needs at.yawk.lz4:lz4-java on the"
          + " class path");
    }
    return lz4;
  }

  static Compressor zstd(int level) {
    Compressor zstd = zstdOrNull(level);
    if (zstd == null) {
      throw new IllegalStateException("CompressingCodec.zstd needs com.github.luben:zstd-jni on"
          + " the class path (with a native library for this platform)");
    }
    return zstd;
  }

  /** The name of the library a marker needs, for the message of an entry it cannot read. */
  static String library(byte marker) {
    return marker == Lz4.MARKER ? "at.yawk.lz4:lz4-java" : "com.github.luben:zstd-jni";
  }
}
