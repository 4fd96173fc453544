package dev.cacheaside.core;

import java.util.Arrays;

/**
 * The bytes in the store: a small versioned header before the codec's payload.
 *
 * <pre>
 * offset size field
 *      0    1 magic 0xCA
 *      1    1 format version (1)
 *      2    1 flags: bit 0 = negative entry ("not found"); other bits must be 0
 *      3    8 loadedAt, epoch millis
 *     11    8 expiresAt, epoch millis: the logical expiry; the store's TTL adds the stale grace
 *     19    4 loadMillis: how long the load took (early refresh weighs it)
 *     23    n payload (empty for a negative entry)
 * </pre>
 *
 * <p>Big-endian, fixed offsets, so a Lua script could read the header if it ever needs to.
 * Anything else (wrong magic, an unknown version or flag, a truncated header, a negative entry
 * with a payload) is {@linkplain Corrupt corrupt}: the core treats it as a miss and deletes it.
 */
record Envelope(boolean negative, long loadedAt, long expiresAt, int loadMillis, byte[] data,
    int offset) {
  static final byte MAGIC = (byte) 0xCA;
  static final byte VERSION = 1;
  static final int HEADER = 23;
  private static final byte FLAG_NEGATIVE = 1;
  private static final byte[] EMPTY = new byte[0];

  static Envelope positive(long loadedAt, long expiresAt, int loadMillis, byte[] payload) {
    return new Envelope(false, loadedAt, expiresAt, loadMillis, payload, 0);
  }

  static Envelope negative(long loadedAt, long expiresAt, int loadMillis) {
    return new Envelope(true, loadedAt, expiresAt, loadMillis, EMPTY, 0);
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
    putLong(out, 3, loadedAt);
    putLong(out, 11, expiresAt);
    putInt(out, 19, loadMillis);
    System.arraycopy(data, offset, out, HEADER, payloadLength());
    return out;
  }

  /**
   * Reads the header in place; the payload stays in {@code bytes} (the hit path decodes every
   * entry, so it neither wraps a buffer nor copies the payload).
   */
  static Envelope decode(byte[] bytes) {
    if (bytes.length < HEADER) {
      throw new Corrupt("entry of " + bytes.length + " bytes is shorter than the "
          + HEADER + "-byte header");
    }
    byte magic = bytes[0];
    if (magic != MAGIC) {
      throw new Corrupt(String.format("entry starts with 0x%02X, not the magic 0xCA", magic));
    }
    byte version = bytes[1];
    if (version != VERSION) {
      throw new Corrupt("entry has format version " + version + "; this library reads " + VERSION);
    }
    byte flags = bytes[2];
    if ((flags & ~FLAG_NEGATIVE) != 0) {
      throw new Corrupt(String.format("entry has unknown flags 0x%02X", flags));
    }
    long loadedAt = getLong(bytes, 3);
    long expiresAt = getLong(bytes, 11);
    int loadMillis = getInt(bytes, 19);
    boolean negative = (flags & FLAG_NEGATIVE) != 0;
    int payloadLength = bytes.length - HEADER;
    if (negative && payloadLength != 0) {
      throw new Corrupt("negative entry carries " + payloadLength + " payload bytes");
    }
    if (loadMillis < 0) {
      throw new Corrupt("entry has a negative load time " + loadMillis);
    }
    return new Envelope(negative, loadedAt, expiresAt, loadMillis, bytes, HEADER);
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
