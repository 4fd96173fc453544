package dev.cacheaside.core;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Wall time read from a {@link VirtualTimeScheduler}: entries, leases and timers then move
 * together when a test advances virtual time.
 */
final class VirtualClock extends Clock {
  private final VirtualTimeScheduler time;

  VirtualClock(VirtualTimeScheduler time) {
    this.time = time;
  }

  @Override
  public long millis() {
    return time.now(TimeUnit.MILLISECONDS);
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
    throw new UnsupportedOperationException();
  }
}
