package dev.cacheaside.core;

/**
 * A {@link Codec} failed: the message names the cache, the key and the direction. Raised to the
 * caller only when a loaded value cannot be encoded (a bug to fix, not a cache outage); a failed
 * decode is handled as a miss instead.
 *
 * @since 0.1
 */
public final class CodecException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public CodecException(String message, Throwable cause) {
    super(message, cause);
  }
}
