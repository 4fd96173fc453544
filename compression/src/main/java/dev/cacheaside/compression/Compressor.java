package dev.cacheaside.compression;

/**
 * One compression algorithm, as {@link CompressingCodec} needs it: a marker byte that names it in
 * an entry, block compression into a given array, and decompression into an array of exactly the
 * declared size that fails rather than write past it.
 */
interface Compressor {

  /** The byte that marks an entry this compressor wrote; never {@link CompressingCodec}'s plain. */
  byte marker();

  /** The most bytes {@link #compress} can write for {@code length} bytes of input. */
  int maxCompressedLength(int length);

  /** Compresses {@code src[off, off + len)} into {@code dest} from {@code destOff}; the count. */
  int compress(byte[] src, int off, int len, byte[] dest, int destOff);

  /**
   * Decompresses {@code src[off, off + len)} into all of {@code dest}.
   *
   * @throws IllegalArgumentException when the data is malformed, would expand past
   *     {@code dest.length}, or makes fewer bytes than that (a header that lies either way)
   */
  void decompress(byte[] src, int off, int len, byte[] dest);
}
