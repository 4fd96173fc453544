package dev.cacheaside.core;

import java.nio.ByteBuffer;

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
record Envelope(boolean negative, long loadedAt, long expiresAt, int loadMillis, byte[] payload) {
  static final byte MAGIC = (byte) 0xCA;
  static final byte VERSION = 1;
  static final int HEADER = 23;
  private static final byte FLAG_NEGATIVE = 1;
  private static final byte[] EMPTY = new byte[0];

  static Envelope positive(long loadedAt, long expiresAt, int loadMillis, byte[] payload) {
    return new Envelope(false, loadedAt, expiresAt, loadMillis, payload);
  }

  static Envelope negative(long loadedAt, long expiresAt, int loadMillis) {
    return new Envelope(true, loadedAt, expiresAt, loadMillis, EMPTY);
  }

  /** True once the logical expiry has passed: the value may only be served as stale. */
  boolean isStale(long nowMillis) {
    return nowMillis >= expiresAt;
  }

  byte[] encode() {
    ByteBuffer buffer = ByteBuffer.allocate(HEADER + payload.length);
    buffer.put(MAGIC).put(VERSION).put(negative ? FLAG_NEGATIVE : 0);
    buffer.putLong(loadedAt).putLong(expiresAt).putInt(loadMillis);
    buffer.put(payload);
    return buffer.array();
  }

  static Envelope decode(byte[] bytes) {
    if (bytes.length < HEADER) {
      throw new Corrupt("entry of " + bytes.length + " bytes is shorter than the "
          + HEADER + "-byte header");
    }
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    byte magic = buffer.get();
    if (magic != MAGIC) {
      throw new Corrupt(String.format("entry starts with 0x%02X, not the magic 0xCA", magic));
    }
    byte version = buffer.get();
    if (version != VERSION) {
      throw new Corrupt("entry has format version " + version + "; this library reads " + VERSION);
    }
    byte flags = buffer.get();
    if ((flags & ~FLAG_NEGATIVE) != 0) {
      throw new Corrupt(String.format("entry has unknown flags 0x%02X", flags));
    }
    long loadedAt = buffer.getLong();
    long expiresAt = buffer.getLong();
    int loadMillis = buffer.getInt();
    boolean negative = (flags & FLAG_NEGATIVE) != 0;
    int payloadLength = bytes.length - HEADER;
    if (negative && payloadLength != 0) {
      throw new Corrupt("negative entry carries " + payloadLength + " payload bytes");
    }
    if (loadMillis < 0) {
      throw new Corrupt("entry has a negative load time " + loadMillis);
    }
    byte[] payload = payloadLength == 0 ? EMPTY : new byte[payloadLength];
    buffer.get(payload);
    return new Envelope(negative, loadedAt, expiresAt, loadMillis, payload);
  }

  /** An entry that is not a valid envelope. */
  static final class Corrupt extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Corrupt(String message) {
      super(message, null, false, false);
    }
  }
}
