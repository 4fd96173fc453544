package dev.cacheaside.core;

import java.time.Clock;

/**
 * The store's clock, as this instance estimates it: the cache's own clock plus an offset learnt
 * from the store ({@code CacheStore.time}) each time the generation is read. Entries are stamped
 * and judged fresh or stale by it, so instances whose clocks disagree still agree on when an entry
 * expires: they all read the same store's clock, within half a round trip. A store with no clock
 * leaves the offset at zero: the cache's own clock.
 */
final class StoreClock {
  private final Clock local;
  private volatile long offsetMillis;

  StoreClock(Clock local) {
    this.local = local;
  }

  /**
   * A reading of the store's clock, {@code storeMillis}, answered between {@code sentAt} and
   * {@code answeredAt} by the local clock: the store read it about halfway.
   */
  void observed(long storeMillis, long sentAt, long answeredAt) {
    offsetMillis = storeMillis - (sentAt + (answeredAt - sentAt) / 2);
  }

  /** The local clock, for measuring the round trip of a reading. */
  long localMillis() {
    return local.millis();
  }

  /** The store's time now, in milliseconds since the epoch, as this instance estimates it. */
  long millis() {
    return local.millis() + offsetMillis;
  }
}
