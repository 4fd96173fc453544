package dev.cacheaside.resilience;

import java.util.concurrent.TimeoutException;

/**
 * Fails a store call that a {@link ResilientCacheStore} cut off at its time limit; the core treats
 * it as a miss (or a failed write). Without a stack trace: it is a signal about the store, and one
 * is made for each call cut off.
 */
final class CallTimeoutException extends TimeoutException {
  private static final long serialVersionUID = 1L;

  CallTimeoutException(String storeName) {
    super("cache store '" + storeName + "' did not answer within its time limit");
  }

  @Override
  public Throwable fillInStackTrace() {
    return this;
  }
}
