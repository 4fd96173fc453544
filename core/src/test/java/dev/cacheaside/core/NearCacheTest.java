package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.InvalidationListener;
import dev.cacheaside.core.spi.StoreState;
import dev.cacheaside.core.testkit.CountingStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * The near cache on the in-memory store (which announces every change on the writing thread):
 * near hits, the race between a store read and an invalidation, read-your-writes, a lost stream,
 * a store that is not up. Separate {@link CacheAside}s on one store stand for separate instances;
 * the Redis module runs the same guarantees against real Redis and Redis Cluster.
 */
class NearCacheTest {
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final InMemoryCacheStore shared = InMemoryCacheStore.create();
  private final Gate gate = new Gate(shared);
  private final CountingStore counted = new CountingStore(gate);

  /** The near instance, on the gated, counted view of the shared store. */
  private final CacheAside<String, String> near = builder(counted)
      .nearCache(NearCache.ofEntries(1_000)).build();
  /** Another instance, without a near cache: a writer elsewhere. */
  private final CacheAside<String, String> other = builder(shared).build();

  private static CacheAsideBuilder<String, String> builder(CacheStore store) {
    return CacheAside.<String, String>builder("t").store(store).codec(Codec.utf8())
        .ttl(Duration.ofMinutes(5));
  }

  private static Mono<String> value(String v) {
    return Mono.just(v);
  }

  private String read(CacheAside<String, String> cache, String key, String loaded) {
    return cache.cacheAside(key, k -> value(loaded)).block(WAIT);
  }

  @Test
  void nearHit_answersWithoutAStoreCall() {
    assertThat(read(near, "k", "v1")).isEqualTo("v1");
    assertThat(read(near, "k", "unused")).as("stored, then read back from the store")
        .isEqualTo("v1");
    int gets = counted.gets.get();
    assertThat(read(near, "k", "unused")).isEqualTo("v1");
    assertThat(counted.gets).as("a near hit makes no store call").hasValue(gets);
    assertThat(near.stats().nearCache().hits()).isEqualTo(1);
    assertThat(near.stats().hits()).as("a near hit is a hit").isEqualTo(2);
    assertThat(near.stats().nearCache().size()).isEqualTo(1);
  }

  @Test
  void nearCache_isFilledOnlyByPlainReads_notByTheLoadThatStored() {
    read(near, "k", "v1");
    assertThat(near.stats().nearCache().size()).as("the load stored under its lease; no fill")
        .isZero();
    read(near, "k", "unused");
    assertThat(near.stats().nearCache().size()).isEqualTo(1);
  }

  /**
   * Stores "v1" through the other instance, then starts a read of it on the near instance whose
   * store reply is held by the gate; the read's answer goes to the sink returned.
   */
  private Sinks.One<String> readOfV1Held() {
    read(other, "k", "v1");
    gate.hold();
    Sinks.One<String> first = Sinks.one();
    near.cacheAside("k", k -> value("unused")).subscribe(first::tryEmitValue);
    return first;
  }

  @Test
  void race_valueFetchedBeforeAnInvalidation_isNeverInstalledAfterIt() {
    Sinks.One<String> first = readOfV1Held();
    assertThat(gate.heldReads()).as("the GET ran and its reply is held").isEqualTo(1);

    other.invalidate("k").block(WAIT);
    assertThat(near.stats().nearCache().invalidationMessages()).isPositive();
    gate.release();

    assertThat(first.asMono().block(WAIT)).as("the read itself was answered before the delete")
        .isEqualTo("v1");
    assertThat(near.stats().nearCache().size()).as("the old value never entered the tier")
        .isZero();
    assertThat(read(near, "k", "v2")).isEqualTo("v2");
    assertThat(read(near, "k", "unused")).isEqualTo("v2");
    assertThat(read(near, "k", "unused")).as("a near hit now, of the new value").isEqualTo("v2");
    assertThat(near.stats().nearCache().hits()).isEqualTo(1);
  }

  @Test
  void leaseHolderWhoseStoreWasRefused_doesNotFillTheTier() {
    Sinks.One<String> load = Sinks.one();
    Sinks.One<String> answer = Sinks.one();
    near.cacheAside("k", k -> load.asMono()).subscribe(answer::tryEmitValue);
    other.invalidate("k").block(WAIT);
    load.tryEmitValue("v1");

    assertThat(answer.asMono().block(WAIT)).isEqualTo("v1");
    assertThat(near.stats().leasesLost()).as("the store under the lease was refused").isEqualTo(1);
    assertThat(near.stats().nearCache().size()).isZero();
    assertThat(read(near, "k", "v2")).as("nothing was kept anywhere").isEqualTo("v2");
  }

  @Test
  void invalidate_dropsTheLocalCopyBeforeItCompletes() {
    read(near, "k", "v1");
    read(near, "k", "unused");
    assertThat(near.stats().nearCache().size()).isEqualTo(1);
    StepVerifier.create(near.invalidate("k")
            .then(Mono.fromSupplier(() -> near.stats().nearCache().size())))
        .expectNext(0L).verifyComplete();
    assertThat(read(near, "k", "v2")).isEqualTo("v2");
  }

  @Test
  void writeThenInvalidate_readAfterwardsSeesTheWrite_evenWithAReadInFlightAcrossIt() {
    read(near, "k", "v1");
    gate.hold();
    Sinks.One<String> inFlight = Sinks.one();
    // A read of this instance's own (not shared: a joined flight would end with it) in flight
    // across the write: it fetched v1 before the delete.
    CacheAside<String, String> ownReads = builder(counted).shareReads(false)
        .nearCache(NearCache.ofEntries(10)).build();
    ownReads.cacheAside("k", k -> value("unused")).subscribe(inFlight::tryEmitValue);
    gate.releaseAfterNextDelete();

    assertThat(ownReads.writeThenInvalidate("k", value("written")).block(WAIT))
        .isEqualTo("written");
    assertThat(inFlight.asMono().block(WAIT)).isEqualTo("v1");
    assertThat(read(ownReads, "k", "v2")).as("the write is seen by its own instance")
        .isEqualTo("v2");
  }

  @Test
  void streamLost_flushesAndBypasses_thenRestoredFillsAgain() {
    read(near, "k", "v1");
    read(near, "k", "unused");
    InvalidationListener stream = gate.listener();
    stream.lost();
    assertThat(near.stats().nearCache().bypassing()).isTrue();
    assertThat(near.stats().nearCache().size()).isZero();
    int gets = counted.gets.get();
    read(near, "k", "unused");
    read(near, "k", "unused");
    assertThat(counted.gets).as("bypassed: every read goes to the store").hasValue(gets + 2);
    assertThat(near.stats().nearCache().size()).as("and fills nothing").isZero();

    stream.restored();
    read(near, "k", "unused");
    gets = counted.gets.get();
    read(near, "k", "unused");
    assertThat(counted.gets).as("filled again once the stream is back").hasValue(gets);
    assertThat(near.stats().nearCache().flushes()).isEqualTo(2);
  }

  @Test
  void readBeforeABreak_isNeverServedAfterTheStreamIsBack() {
    Sinks.One<String> first = readOfV1Held();
    gate.listener().lost();
    gate.listener().restored();
    gate.release();
    assertThat(first.asMono().block(WAIT)).isEqualTo("v1");
    assertThat(near.stats().nearCache().size()).isZero();
  }

  @Test
  void generationBump_dropsEveryCopy() {
    read(near, "k", "v1");
    read(near, "k", "unused");
    assertThat(near.stats().nearCache().size()).isEqualTo(1);
    other.bumpGeneration().block(WAIT);
    assertThat(near.stats().nearCache().size()).isZero();
    assertThat(near.stats().nearCache().flushes()).isEqualTo(1);
  }

  @Test
  void storeNotUp_noNearReadsNorFills() {
    read(near, "k", "v1");
    read(near, "k", "unused");
    gate.state = StoreState.DOWN;
    int gets = counted.gets.get();
    read(near, "k", "unused");
    assertThat(counted.gets).as("an open breaker: the tier is not read").hasValue(gets + 1);
    gate.state = StoreState.UP;
    near.invalidate("k").block(WAIT);
    gate.state = StoreState.DEGRADED;
    read(near, "k", "v2");
    read(near, "k", "unused");
    assertThat(near.stats().nearCache().size()).as("nor filled").isZero();
  }

  @Test
  void bulkRead_answersNearHitsWithoutAStoreCall() {
    read(near, "a", "1");
    read(near, "b", "2");
    read(near, "a", "unused");
    read(near, "b", "unused");
    int getAllKeys = counted.getAllKeys.get();
    Map<String, String> found = near.cacheAsideAll(reactor.core.publisher.Flux.just("a", "b", "c"),
            BulkLoader.fromMap(keys -> Mono.just(Map.of("c", "3"))))
        .collectMap(BulkResult::key, r -> Objects.requireNonNull(r.value()))
        .block(WAIT);
    assertThat(found).containsExactlyInAnyOrderEntriesOf(Map.of("a", "1", "b", "2", "c", "3"));
    assertThat(counted.getAllKeys).as("only the key without a copy was asked of the store")
        .hasValue(getAllKeys + 1);
  }

  /** The race of a bulk read: its reply held while one of its keys is invalidated elsewhere. */
  @Test
  void bulkRace_valuesFetchedBeforeAnInvalidation_onlyTheUnchangedAreInstalled() {
    read(other, "a", "a1");
    read(other, "b", "b1");
    gate.hold();
    Sinks.One<Map<String, String>> first = Sinks.one();
    near.cacheAsideAll(reactor.core.publisher.Flux.just("a", "b"),
            BulkLoader.fromMap(keys -> Mono.just(Map.<String, String>of())))
        .collectMap(BulkResult::key, r -> Objects.requireNonNull(r.value()))
        .subscribe(first::tryEmitValue);
    dev.cacheaside.testing.Poll.until("the bulk read ran and its reply is held", WAIT,
        () -> gate.heldReads() == 1);

    other.invalidate("a").block(WAIT);
    gate.release();

    assertThat(first.asMono().block(WAIT)).containsExactlyInAnyOrderEntriesOf(
        Map.of("a", "a1", "b", "b1"));
    assertThat(near.stats().nearCache().size()).as("b only: a was invalidated meanwhile")
        .isEqualTo(1);
    assertThat(read(near, "a", "a2")).isEqualTo("a2");
    int gets = counted.gets.get();
    assertThat(read(near, "b", "unused")).isEqualTo("b1");
    assertThat(counted.gets).as("b is a near hit").hasValue(gets);
  }

  /**
   * A read in flight across a lost and restored stream (an invalidation of its key may have been
   * missed in between): what it fetched is never installed, and nothing of before is served.
   */
  @Test
  void readInFlightAcrossALostAndRestoredStream_installsNothing() {
    read(other, "k", "v1");
    read(near, "warm", "w");
    read(near, "warm", "w");
    gate.hold();
    Sinks.One<String> first = Sinks.one();
    near.cacheAside("k", k -> value("unused")).subscribe(first::tryEmitValue);
    assertThat(gate.heldReads()).isEqualTo(1);
    gate.listener().lost();
    gate.listener().restored();
    gate.release();

    assertThat(first.asMono().block(WAIT)).isEqualTo("v1");
    assertThat(near.stats().nearCache().size()).as("neither k nor the copy of before the break")
        .isZero();
    int gets = counted.gets.get();
    assertThat(read(near, "warm", "unused")).isEqualTo("w");
    assertThat(counted.gets).as("warm read from the store again").hasValue(gets + 1);
  }

  @Test
  void storeWithoutAnInvalidationStream_buildFails() {
    CacheStore mute = new ForwardingCacheStore(shared) {
      @Override
      public @Nullable Disposable invalidations(InvalidationListener listener) {
        return null;
      }
    };
    assertThatThrownBy(() -> builder(mute).nearCache(NearCache.ofEntries(10)).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("announces its changes");
  }

  @Test
  void options_areChecked() {
    assertThatThrownBy(() -> new NearCache(10, 10, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> NearCache.ofEntries(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> NearCache.ofBytes(10).withMaxTtl(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder(shared).nearCache(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("nearCache");
  }

  /**
   * The shared store, seen through a gate that can hold the replies of {@code get} (the read has
   * run on the store; its caller has not heard), a state to report, and the listener the near
   * cache registered, so a test can break and restore the stream.
   */
  static final class Gate extends ForwardingCacheStore {
    private volatile Sinks.Empty<Void> held = Sinks.empty();
    private volatile boolean holding;
    private final AtomicInteger heldReads = new AtomicInteger();
    private volatile boolean releaseOnDelete;
    private volatile @Nullable InvalidationListener listener;
    volatile StoreState state = StoreState.UP;

    Gate(CacheStore store) {
      super(store);
    }

    void hold() {
      held = Sinks.empty();
      holding = true;
    }

    void release() {
      holding = false;
      held.tryEmitEmpty();
    }

    /** Lets held replies through once the next delete has run on the store. */
    void releaseAfterNextDelete() {
      releaseOnDelete = true;
    }

    int heldReads() {
      return heldReads.get();
    }

    InvalidationListener listener() {
      return Objects.requireNonNull(listener);
    }

    @Override
    public Mono<byte[]> get(String key) {
      Mono<byte[]> read = super.get(key);
      if (!holding) {
        return read;
      }
      Sinks.Empty<Void> until = held;
      return read.doOnSubscribe(s -> heldReads.incrementAndGet())
          .materialize().delayUntil(signal -> until.asMono()).dematerialize();
    }

    @Override
    public Mono<Map<String, byte[]>> getAll(java.util.Collection<String> keys) {
      Mono<Map<String, byte[]>> read = super.getAll(keys);
      if (!holding) {
        return read;
      }
      Sinks.Empty<Void> until = held;
      return read.doOnSubscribe(s -> heldReads.incrementAndGet())
          .materialize().delayUntil(signal -> until.asMono()).dematerialize();
    }

    @Override
    public Mono<Void> delete(java.util.Collection<String> keys) {
      return super.delete(keys).doOnSuccess(v -> {
        if (releaseOnDelete) {
          releaseOnDelete = false;
          release();
        }
      });
    }

    @Override
    public Mono<Void> delete(String key) {
      return delete(List.of(key));
    }

    @Override
    public StoreState state() {
      return state;
    }

    @Override
    public @Nullable Disposable invalidations(InvalidationListener listener) {
      this.listener = listener;
      return super.invalidations(listener);
    }
  }
}
