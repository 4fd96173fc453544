package dev.cacheaside.compression;

import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import java.lang.ref.Cleaner;
import org.jspecify.annotations.Nullable;

/**
 * Zstandard frames through zstd-jni. Decompression is the one-shot call into a buffer of the
 * declared size: the library writes into that buffer only and reports an error when the frame
 * needs more, so neither a bomb nor a frame header that declares a huge size or window allocates
 * anything beyond it.
 *
 * <p>Contexts are kept per thread: zstd-jni's one-shot static calls make and free a native context
 * on every call, which costs more than decompressing a 1 KB value. A thread's context is freed
 * when the thread is gone (a {@link Cleaner} on its holder: zstd-jni's contexts have no finalizer).
 */
final class Zstd implements Compressor {
  static final byte MARKER = 2;
  static final int DEFAULT_LEVEL = 3;

  private static final Cleaner CLEANER = Cleaner.create();
  private static final ThreadLocal<Decompressing> DECOMPRESSING =
      ThreadLocal.withInitial(Decompressing::new);

  /** One thread's decompression context, closed once the holder is unreachable. */
  private static final class Decompressing {
    final ZstdDecompressCtx context = new ZstdDecompressCtx();

    Decompressing() {
      ZstdDecompressCtx owned = context;
      CLEANER.register(this, owned::close);
    }
  }

  /** One thread's compression context at this compressor's level. */
  private static final class Compressing {
    final ZstdCompressCtx context = new ZstdCompressCtx();

    Compressing(int level) {
      context.setLevel(level);
      ZstdCompressCtx owned = context;
      CLEANER.register(this, owned::close);
    }
  }

  private final int level;
  private final ThreadLocal<Compressing> compressing;

  Zstd(int level) {
    // The first touch of the class loads the native library (a file extracted to a temporary
    // folder): made here, when the codec is made, never on the first read on an event loop.
    int max = com.github.luben.zstd.Zstd.maxCompressionLevel();
    if (level < 1 || level > max) {
      throw new IllegalArgumentException("Zstandard level must be between 1 and " + max
          + ", was " + level);
    }
    this.level = level;
    this.compressing = ThreadLocal.withInitial(() -> new Compressing(level));
    DECOMPRESSING.get(); // the native library and a first context, now rather than on a read
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
    try {
      return compressing.get().context.compressByteArray(dest, destOff, dest.length - destOff,
          src, off, len);
    } catch (ZstdException e) {
      throw new IllegalStateException("Zstandard cannot compress: " + e.getMessage(), e);
    }
  }

  @Override
  public void decompress(byte[] src, int off, int len, byte[] dest) {
    int made;
    try {
      made = DECOMPRESSING.get().context.decompressByteArray(dest, 0, dest.length, src, off,
          len);
    } catch (ZstdException e) {
      // A one-shot decompression starts from a fresh frame, but leave nothing of a bad one behind.
      DECOMPRESSING.get().context.reset();
      throw malformed(dest.length, e.getMessage(), e);
    }
    if (made != dest.length) {
      throw new IllegalArgumentException("Zstandard data expands to " + made + " bytes, not the "
          + dest.length + " its header declares");
    }
  }

  private static IllegalArgumentException malformed(int declared, @Nullable String why,
      Throwable cause) {
    return new IllegalArgumentException("Zstandard data is malformed or expands past the "
        + declared + " bytes its header declares: " + why, cause);
  }

  @Override
  public String toString() {
    return "zstd level " + level;
  }
}
