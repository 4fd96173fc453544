package dev.cacheaside.core;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.testing.VirtualTime;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * Early refresh of {@code cacheAsideAll} windows, in virtual time on the in-memory store: the
 * due hits of a window are refreshed with one bulk load, in the background, under their leases.
 */
class BulkRefreshTest {
  @RegisterExtension
  final VirtualTime virtual = new VirtualTime();
  private final VirtualTimeScheduler time = virtual.scheduler();
  private final Clock clock = virtual.clock();
  private final InMemoryCacheStore store = InMemoryCacheStore.builder().clock(clock).build();

  private CacheAside<Integer, String> cache() {
    return CacheAside.<Integer, String>builder("t").store(store).codec(Codec.utf8()).clock(clock)
        .scheduler(time).refreshScheduler(time).ttl(Duration.ofSeconds(10))
        .earlyRefresh(EarlyRefresh.ahead(0.5)).build();
  }

  /** Rows "{version}-{id}"; each call is recorded and may be held by {@link #gate}. */
  private static final class Database implements BulkLoader<Integer, String> {
    final List<Set<Integer>> calls = new CopyOnWriteArrayList<>();
    final AtomicInteger version = new AtomicInteger(1);
    volatile Mono<?> gate = Mono.empty();

    @Override
    public Mono<Map<Integer, String>> load(Set<Integer> keys) {
      calls.add(Set.copyOf(keys));
      int v = version.get();
      Map<Integer, String> rows = new HashMap<>();
      keys.forEach(k -> rows.put(k, v + "-" + k));
      return gate.then(Mono.just(rows));
    }
  }

  /** The values answered before the test moves time; fails if the read waits. */
  private static Map<Integer, String> readNow(CacheAside<Integer, String> cache, Database db,
      int keys) {
    AtomicReference<Map<Integer, String>> values = new AtomicReference<>();
    cache.cacheAsideAll(Flux.range(0, keys), db)
        .collectMap(BulkResult::key, r -> String.valueOf(r.value()))
        .subscribe(values::set);
    assertThat(values.get()).as("answered at once").isNotNull().hasSize(keys);
    return values.get();
  }

  private static int refreshing(CacheAside<?, ?> cache) {
    return (int) cache.stats().refreshesInFlight();
  }

  @Test
  void dueHitsOfAWindow_refreshedWithOneBulkLoad_callersServedTheOldValuesAtOnce() {
    CacheAside<Integer, String> cache = cache();
    Database db = new Database();
    assertThat(readNow(cache, db, 10)).containsEntry(3, "1-3");
    time.advanceTimeBy(Duration.ofSeconds(6));
    db.version.set(2);
    Sinks.One<String> held = Sinks.one();
    db.gate = held.asMono();

    assertThat(readNow(cache, db, 10)).as("hits, while their refresh is held")
        .containsEntry(3, "1-3").containsEntry(9, "1-9");
    assertThat(db.calls).hasSize(2);
    assertThat(db.calls.get(1)).as("one bulk load for every due key")
        .containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    assertThat(refreshing(cache)).isEqualTo(10);
    assertThat(readNow(cache, db, 10)).as("no second refresh while one is in flight")
        .containsEntry(3, "1-3");
    assertThat(db.calls).hasSize(2);

    held.tryEmitValue("go");
    assertThat(refreshing(cache)).isZero();
    assertThat(readNow(cache, db, 10)).containsEntry(3, "2-3").containsEntry(9, "2-9");
    assertThat(db.calls).hasSize(2);
    assertThat(cache.stats().refreshes()).isEqualTo(10);
    assertThat(cache.stats().refreshFailures()).isZero();
    assertThat(cache.stats().averageRefreshLeadMillis()).isEqualTo(4_000.0);
  }

  @Test
  void singleKeyMissDuringABulkRefresh_joinsIt_invalidatedKeyIsNotStored() {
    CacheAside<Integer, String> cache = cache();
    Database db = new Database();
    readNow(cache, db, 10);
    time.advanceTimeBy(Duration.ofSeconds(6));
    db.version.set(2);
    Sinks.One<String> held = Sinks.one();
    db.gate = held.asMono();
    readNow(cache, db, 10);
    assertThat(db.calls).hasSize(2);

    cache.invalidate(7).block(Duration.ofSeconds(5));
    time.advanceTimeBy(Duration.ofMillis(4_500));
    AtomicInteger singleLoads = new AtomicInteger();
    AtomicReference<String> late = new AtomicReference<>();
    cache.cacheAside(3, k -> {
      singleLoads.incrementAndGet();
      return Mono.just("single");
    }).subscribe(late::set);
    assertThat(late.get()).as("the expired key waits for the refresh").isNull();

    held.tryEmitValue("go");
    assertThat(late.get()).isEqualTo("2-3");
    assertThat(singleLoads).as("the refresh was the load").hasValue(0);
    assertThat(cache.stats().leasesLost()).as("key 7 was invalidated during its refresh")
        .isOne();
    assertThat(cache.cacheAside(7, k -> Mono.just("after the write")).block())
        .isEqualTo("after the write");
    assertThat(cache.cacheAside(8, k -> Mono.just("not loaded")).block()).isEqualTo("2-8");
  }

  @Test
  void failedBulkRefresh_keepsTheOldValues_backsOff() {
    CacheAside<Integer, String> cache = CacheAside.<Integer, String>builder("t").store(store)
        .codec(Codec.utf8()).clock(clock).scheduler(time).refreshScheduler(time)
        .ttl(Duration.ofSeconds(10)).earlyRefresh(EarlyRefresh.ahead(0.5))
        .refreshBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1)).build();
    Database db = new Database();
    readNow(cache, db, 5);
    time.advanceTimeBy(Duration.ofSeconds(6));
    db.gate = Mono.error(new IllegalStateException("database down"));
    assertThat(readNow(cache, db, 5)).containsEntry(2, "1-2");
    assertThat(cache.stats().refreshFailures()).isEqualTo(5);
    assertThat(readNow(cache, db, 5)).as("backing off").containsEntry(2, "1-2");
    assertThat(db.calls).hasSize(2);
    time.advanceTimeBy(Duration.ofSeconds(1));
    db.gate = Mono.empty();
    db.version.set(2);
    readNow(cache, db, 5);
    assertThat(db.calls).hasSize(3);
    assertThat(readNow(cache, db, 5)).containsEntry(2, "2-2");
    assertThat(cache.stats().refreshes()).isEqualTo(10);
  }
}
