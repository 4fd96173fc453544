package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import java.util.Arrays;

/**
 * The bytes in the store: a small versioned header before the codec's payload.
 *
 * <pre>
 * offset size field
 *      0    1 magic 0xCA
 *      1    1 format version (2)
 *      2    1 flags: bit 0 = negative entry ("not found"); other bits must be 0
 *      3    4 schema version: the cache's {@code schemaVersion}, the shape of the value type
 *      7    8 loadedAt, epoch millis by the store's clock
 *     15    8 expiresAt, epoch millis by the store's clock: the logical expiry; the store's TTL
 *             adds the stale grace
 *     23    4 loadMillis: how long the load took (early refresh weighs it)
 *     27    n payload (empty for a negative entry)
 * </pre>
 *
 * <p>Big-endian, fixed offsets, so a Lua script could read the header if it ever needs to.
 *
 * <p>What a reader makes of bytes it did not write itself is {@link #classify}'s: without the
 * magic, they are not this library's ({@link Kind#FOREIGN}: left alone); with another format or
 * schema version, they are another version's ({@link Kind#OTHER_VERSION}: left alone too, as a
 * rolling deploy has both versions read the same entries); a broken envelope of this version is
 * {@linkplain Corrupt corrupt} (deleted).
 */
record Envelope(boolean negative, int schemaVersion, long loadedAt, long expiresAt,
    int loadMillis, byte[] data, int offset) {
  /** The store's mark of this library's values: stores refuse to replace any other. */
  static final byte MAGIC = CacheStore.ENTRY_MARK;
  static final byte VERSION = 2;
  static final int HEADER = 27;
  private static final byte FLAG_NEGATIVE = 1;
  private static final byte[] EMPTY = new byte[0];

  /** What stored bytes are, before they are decoded. */
  enum Kind {
    /** This library's envelope, this format and schema version: decode it. */
    OURS,
    /** Not this library's envelope: another application's value; never deleted. */
    FOREIGN,
    /** This library's, but another format or schema version: another deploy's; never deleted. */
    OTHER_VERSION
  }

  static Envelope positive(int schemaVersion, long loadedAt, long expiresAt, int loadMillis,
      byte[] payload) {
    return new Envelope(false, schemaVersion, loadedAt, expiresAt, loadMillis, payload, 0);
  }

  static Envelope negative(int schemaVersion, long loadedAt, long expiresAt, int loadMillis) {
    return new Envelope(true, schemaVersion, loadedAt, expiresAt, loadMillis, EMPTY, 0);
  }

  /** Whether {@code bytes} are an envelope this reader, of {@code schemaVersion}, may decode. */
  static Kind classify(byte[] bytes, int schemaVersion) {
    if (!CacheStore.isEntry(bytes)) {
      return Kind.FOREIGN;
    }
    if (bytes[1] != VERSION) {
      return Kind.OTHER_VERSION;
    }
    if (bytes.length >= 7 && getInt(bytes, 3) != schemaVersion) {
      return Kind.OTHER_VERSION;
    }
    return Kind.OURS;
  }

  /** True once the logical expiry has passed: the value may only be served as stale. */
  boolean isStale(long nowMillis) {
    return nowMillis >= expiresAt;
  }

  /** The codec's bytes: {@code data} from {@code offset} on (decoding does not copy them). */
  int payloadLength() {
    return data.length - offset;
  }

  /** A copy of the codec's bytes. */
  byte[] payload() {
    return Arrays.copyOfRange(data, offset, data.length);
  }

  byte[] encode() {
    byte[] out = new byte[HEADER + payloadLength()];
    out[0] = MAGIC;
    out[1] = VERSION;
    out[2] = negative ? FLAG_NEGATIVE : 0;
    putInt(out, 3, schemaVersion);
    putLong(out, 7, loadedAt);
    putLong(out, 15, expiresAt);
    putInt(out, 23, loadMillis);
    System.arraycopy(data, offset, out, HEADER, payloadLength());
    return out;
  }

  /**
   * Reads the header of an envelope that {@link #classify} found {@link Kind#OURS}, in place; the
   * payload stays in {@code bytes} (the hit path decodes every entry, so it neither wraps a buffer
   * nor copies the payload).
   *
   * @throws Corrupt if the envelope is broken
   */
  static Envelope decode(byte[] bytes) {
    if (bytes.length < HEADER) {
      throw new Corrupt("entry of " + bytes.length + " bytes is shorter than the "
          + HEADER + "-byte header");
    }
    byte flags = bytes[2];
    if ((flags & ~FLAG_NEGATIVE) != 0) {
      throw new Corrupt(String.format("entry has unknown flags 0x%02X", flags));
    }
    int schemaVersion = getInt(bytes, 3);
    long loadedAt = getLong(bytes, 7);
    long expiresAt = getLong(bytes, 15);
    int loadMillis = getInt(bytes, 23);
    boolean negative = (flags & FLAG_NEGATIVE) != 0;
    int payloadLength = bytes.length - HEADER;
    if (negative && payloadLength != 0) {
      throw new Corrupt("negative entry carries " + payloadLength + " payload bytes");
    }
    if (loadMillis < 0) {
      throw new Corrupt("entry has a negative load time " + loadMillis);
    }
    return new Envelope(negative, schemaVersion, loadedAt, expiresAt, loadMillis, bytes, HEADER);
  }

  private static void putLong(byte[] out, int at, long value) {
    for (int i = 7; i >= 0; i--) {
      out[at + i] = (byte) value;
      value >>>= 8;
    }
  }

  private static void putInt(byte[] out, int at, int value) {
    for (int i = 3; i >= 0; i--) {
      out[at + i] = (byte) value;
      value >>>= 8;
    }
  }

  private static long getLong(byte[] in, int at) {
    long value = 0;
    for (int i = 0; i < 8; i++) {
      value = (value << 8) | (in[at + i] & 0xFF);
    }
    return value;
  }

  private static int getInt(byte[] in, int at) {
    int value = 0;
    for (int i = 0; i < 4; i++) {
      value = (value << 8) | (in[at + i] & 0xFF);
    }
    return value;
  }

  /** An entry that is not a valid envelope. */
  static final class Corrupt extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Corrupt(String message) {
      super(message, null, false, false);
    }
  }
}
