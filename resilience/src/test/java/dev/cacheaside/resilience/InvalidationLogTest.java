package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.test.scheduler.VirtualTimeScheduler;

/** The bookkeeping of owed invalidations, with the interleavings forced one step at a time. */
class InvalidationLogTest {
  private static final String ITEMS = "items";

  private final VirtualTimeScheduler time = VirtualTimeScheduler.create();
  private final Counters counters = new Counters();

  private InvalidationLog log(int capacity) {
    return new InvalidationLog(capacity, 1_000, time, counters);
  }

  @Test
  void keyOwedAgainWhileItsReplayIsInFlight_staysOwed() {
    InvalidationLog log = log(10);
    log.keep(List.of("a", "b"));
    InvalidationLog.Replay replay = (InvalidationLog.Replay) log.nextStep(10);
    assertThat(replay.keys()).containsExactly("a", "b");

    // Another delete of "a" fails after the replay's delete was issued: that delete may have
    // reached the store before the value it must remove was written.
    log.keep(List.of("a"));
    log.deleted(replay.keys(), replay.sequence());

    assertThat(log.holdsBack("a")).isTrue();
    assertThat(log.holdsBack("b")).isFalse();
    assertThat(log.pendingCount()).isEqualTo(1);
    InvalidationLog.Replay again = (InvalidationLog.Replay) log.nextStep(10);
    assertThat(again.keys()).containsExactly("a");
    log.deleted(again.keys(), again.sequence());
    assertThat(log.nextStep(10)).isNull();
    assertThat(log.recovered()).isTrue();
    assertThat(counters.snapshot().invalidationsQueued()).isEqualTo(2);
    assertThat(counters.snapshot().invalidationsReplayed()).isEqualTo(2);
  }

  @Test
  void replay_takesBatchesInArrivalOrder() {
    InvalidationLog log = log(10);
    log.keep(List.of("a", "b", "c"));
    log.keep(List.of("d"));
    InvalidationLog.Replay first = (InvalidationLog.Replay) log.nextStep(3);
    assertThat(first.keys()).containsExactly("a", "b", "c");
    log.deleted(first.keys(), first.sequence());
    assertThat(((InvalidationLog.Replay) log.nextStep(3)).keys()).containsExactly("d");
  }

  @Test
  void overflow_dropsTheQueue_owesABump_andHoldsBackEveryReadUntilItSettles() {
    InvalidationLog log = log(2);
    log.sawNamespace(ITEMS);
    log.keep(List.of("a", "b"));
    assertThat(log.holdsBack("other")).isFalse();

    log.keep(List.of("c"));
    assertThat(log.pendingCount()).as("the queue is dropped").isZero();
    assertThat(log.holdsBack("other")).as("any entry may be stale now").isTrue();
    log.keep(List.of("d"));
    assertThat(counters.snapshot().invalidationsOverflowed()).as("a, b, c, then d").isEqualTo(4);

    InvalidationLog.Bump bump = (InvalidationLog.Bump) log.nextStep(10);
    assertThat(bump.namespaces()).containsExactly(ITEMS);
    log.keep(List.of("e"));
    assertThat(log.pendingCount()).as("a failure during the bump is queued, not covered")
        .isEqualTo(1);
    log.bumped(bump.namespaces());
    assertThat(log.holdsBack("other")).as("settling: the cache may use the old generation")
        .isTrue();
    assertThat(log.awaitsReread(ITEMS)).isTrue();
    log.confirmed(ITEMS);
    assertThat(log.holdsBack("other")).isFalse();
    assertThat(log.holdsBack("e")).isTrue();
    assertThat(counters.snapshot().generationBumps()).isEqualTo(1);
  }

  @Test
  void bumpNobodyReReads_settlesAfterTheSettleTime() {
    InvalidationLog log = log(0);
    log.sawNamespace(ITEMS);
    log.keep(List.of("a"));
    log.bumped(((InvalidationLog.Bump) log.nextStep(10)).namespaces());
    time.advanceTimeBy(Duration.ofMillis(999));
    assertThat(log.holdsBack("x")).isTrue();
    time.advanceTimeBy(Duration.ofMillis(1));
    assertThat(log.holdsBack("x")).isFalse();
    assertThat(log.recovered()).isTrue();
  }

  @Test
  void failedBump_isOwedAgain() {
    InvalidationLog log = log(0);
    log.sawNamespace(ITEMS);
    log.keep(List.of("a"));
    log.nextStep(10);
    log.bumpFailed();
    assertThat(log.holdsBack("x")).isTrue();
    assertThat(log.nextStep(10)).isInstanceOf(InvalidationLog.Bump.class);
  }

  @Test
  void queueFull_noCounterKnown_cannotKeep() {
    InvalidationLog log = log(1);
    assertThat(log.keep(List.of("a"))).isTrue();
    assertThat(log.keep(List.of("b"))).isFalse();
    assertThat(log.keep(List.of("a"))).as("already owed: takes no room").isTrue();
    assertThat(counters.snapshot().invalidationsLost()).isEqualTo(1);
  }
}
