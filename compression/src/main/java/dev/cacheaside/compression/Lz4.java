package dev.cacheaside.compression;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * LZ4 blocks through lz4-java (the maintained {@code at.yawk.lz4} release). Decompression uses the
 * safe decompressor, which checks every offset against the input and the output bounds: the fast
 * one trusts the data and must never see bytes that came from a store.
 */
final class Lz4 implements Compressor {
  static final byte MARKER = 1;

  /**
   * An LZ4 sequence copies at most 255 bytes per length byte it spends, so no block expands more
   * than about 255 times: a header that declares more than this for its data lies, and is refused
   * before anything of that size is allocated.
   */
  private static final int MAX_RATIO = 255;

  private final LZ4Compressor compressor;
  private final LZ4SafeDecompressor decompressor;

  Lz4() {
    // fastestInstance loads the JNI library (files read, perhaps written to a temporary folder):
    // made here, when the codec is made, never on the first read on an event loop.
    LZ4Factory factory = LZ4Factory.fastestInstance();
    this.compressor = factory.fastCompressor();
    this.decompressor = factory.safeDecompressor();
  }

  @Override
  public byte marker() {
    return MARKER;
  }

  @Override
  public int maxCompressedLength(int length) {
    return compressor.maxCompressedLength(length);
  }

  @Override
  public int compress(byte[] src, int off, int len, byte[] dest, int destOff) {
    return compressor.compress(src, off, len, dest, destOff, dest.length - destOff);
  }

  @Override
  public void decompress(byte[] src, int off, int len, byte[] dest) {
    if ((long) len * MAX_RATIO + 64 < dest.length) {
      throw new IllegalArgumentException("LZ4 data of " + len + " bytes cannot expand to the "
          + dest.length + " bytes its header declares");
    }
    int made;
    try {
      made = decompressor.decompress(src, off, len, dest, 0, dest.length);
    } catch (LZ4Exception e) {
      throw new IllegalArgumentException("LZ4 data is malformed or expands past the " + dest.length
          + " bytes its header declares: " + e.getMessage(), e);
    }
    if (made != dest.length) {
      throw new IllegalArgumentException("LZ4 data expands to " + made + " bytes, not the "
          + dest.length + " its header declares");
    }
  }

  @Override
  public String toString() {
    return "lz4";
  }
}
