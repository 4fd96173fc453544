package dev.cacheaside.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A UTC wall clock that moves only when a test says so; thread-safe. */
public final class MutableClock extends Clock {
  /** Where {@link #MutableClock()} starts: a fixed instant in November 2023. */
  public static final long DEFAULT_START_MILLIS = 1_700_000_000_000L;

  private final AtomicLong millis;

  /** A clock at {@link #DEFAULT_START_MILLIS}. */
  public MutableClock() {
    this(DEFAULT_START_MILLIS);
  }

  /** A clock at {@code startMillis} (epoch milliseconds). */
  public MutableClock(long startMillis) {
    this.millis = new AtomicLong(startMillis);
  }

  /** Moves the clock forward (or back, for a negative duration). */
  public void advance(Duration duration) {
    millis.addAndGet(duration.toMillis());
  }

  /** Sets the clock to {@code value} epoch milliseconds. */
  public void setMillis(long value) {
    millis.set(value);
  }

  @Override
  public long millis() {
    return millis.get();
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("a test clock is UTC only");
  }
}
