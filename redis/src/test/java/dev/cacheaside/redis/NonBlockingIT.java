package dev.cacheaside.redis;

import static dev.cacheaside.core.testkit.CacheStoreContract.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cacheaside.core.BulkLoader;
import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.NearCache;
import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.CacheStore.StoreEntry;
import dev.cacheaside.core.spi.StoreLookup;
import io.lettuce.core.RedisException;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * Every store operation subscribed on {@link Schedulers#parallel()} (non-blocking threads, where
 * BlockHound, installed in every test JVM, turns a blocking call into an error), with its signals
 * arriving on Lettuce's event loop (also checked): nothing in the store may block.
 */
class NonBlockingIT {
  private static final Duration TTL = Duration.ofMinutes(5);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private RedisFixture fixture;

  @AfterEach
  void close() {
    if (fixture != null) {
      fixture.close();
    }
  }

  private static <T> T onParallel(Mono<T> mono) {
    return mono.subscribeOn(Schedulers.parallel()).block(TIMEOUT);
  }

  private static <T> List<T> onParallel(Flux<T> flux) {
    return flux.subscribeOn(Schedulers.parallel()).collectList().block(TIMEOUT);
  }

  @Test
  void blockHound_isInstalled() {
    assertThatThrownBy(() -> onParallel(Mono.fromRunnable(Thread::yield)))
        .as("a blocking call on a parallel thread")
        .hasCauseInstanceOf(BlockingOperationError.class);
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void everyOperation_onNonBlockingThreads(RedisFixture.Topology topology) {
    fixture = topology.open();
    RedisCacheStore store = fixture.store;
    // First use of the scripts on this server: takes the NOSCRIPT and EVAL path too.
    fixture.servers().forEach(RedisClusterCommands::scriptFlush);

    onParallel(store.set("a", bytes("A"), TTL));
    assertThat(onParallel(store.get("a"))).isEqualTo(bytes("A"));
    onParallel(store.setAll(List.of(new StoreEntry("b", bytes("B"), TTL),
        new StoreEntry("c", bytes("C"), TTL))));
    Map<String, byte[]> found = onParallel(store.getAll(List.of("a", "b", "c", "x")));
    assertThat(found).containsOnlyKeys("a", "b", "c");

    StoreLookup lookup = onParallel(store.getOrLease("d", TTL));
    String token = ((StoreLookup.Granted) lookup).token();
    assertThat(onParallel(store.setIfLeased("d", token, bytes("D"), TTL))).isTrue();
    assertThat(onParallel(store.getOrLeaseAll(List.of("a", "e", "f", "g"), TTL))).hasSize(4);
    String leaseOfH = onParallel(store.getOrLeaseAll(List.of("h"), TTL)).get(0).lookup()
        instanceof StoreLookup.Granted g ? g.token() : null;
    assertThat(leaseOfH).isNotNull();
    assertThat(onParallel(store.setAllIfLeased(List.of(new LeasedEntry("h", leaseOfH,
        bytes("H"), TTL))))).containsExactly("h");
    String refresh = onParallel(store.tryLease("a", TTL));
    onParallel(store.releaseLease("a", refresh));
    long generation = onParallel(store.bumpGeneration("n"));
    assertThat(onParallel(store.generation("n"))).isEqualTo(generation);
    assertThat(onParallel(store.time("n"))).isPositive();
    onParallel(store.ping());
    onParallel(store.delete("a"));
    onParallel(store.delete(List.of("b", "c", "d")));
    assertThat(onParallel(store.getAll(List.of("a", "b", "c", "d")))).isEmpty();

    onParallel(store.closeAsync());
    assertThatThrownBy(() -> onParallel(store.get("h"))).as("Lettuce's error, not a block")
        .isInstanceOf(RedisException.class);
  }

  /**
   * The near cache's paths on parallel threads: a miss and its fill, near hits (single and
   * bulk), invalidations of this instance and (heard on Lettuce's pub/sub thread) of another, a
   * generation bump, and a lost and restored stream.
   */
  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void nearCache_everyPath_onNonBlockingThreads(RedisFixture.Topology topology) {
    fixture = topology.open();
    CacheAside<String, String> near = CacheAside.<String, String>builder("nb")
        .store(fixture.store).codec(Codec.utf8()).nearCache(NearCache.ofEntries(100)).build();
    RedisCacheStore otherStore = topology.newStore();
    try {
      CacheAside<String, String> other = CacheAside.<String, String>builder("nb")
          .store(otherStore).codec(Codec.utf8()).build();
      dev.cacheaside.testing.Poll.until("stream up", TIMEOUT,
          () -> !near.stats().nearCache().bypassing());
      for (int i = 0; i < 3; i++) {
        assertThat(onParallel(near.cacheAside("k", k -> Mono.just("v")))).isEqualTo("v");
      }
      assertThat(near.stats().nearCache().hits()).isEqualTo(1);
      assertThat(onParallel(near.cacheAsideAll(Flux.just("k", "j"),
          BulkLoader.fromMap(keys -> Mono.just(Map.of("j", "J")))))).hasSize(2);
      onParallel(near.invalidate("k"));
      onParallel(near.writeThenInvalidate("j", Mono.just("w")));
      for (int i = 0; i < 2; i++) {
        onParallel(near.cacheAside("k", k -> Mono.just("v")));
      }
      onParallel(other.invalidate("k"));
      dev.cacheaside.testing.Poll.until("the other's invalidation heard", TIMEOUT,
          () -> near.stats().nearCache().size() == 0);
      onParallel(other.bumpGeneration());
      if (topology == RedisFixture.Topology.STANDALONE) {
        long flushes = near.stats().nearCache().flushes();
        try (var admin = dev.cacheaside.testing.TestRedis.get().client().connect()) {
          admin.sync().clientKill(io.lettuce.core.KillArgs.Builder.typePubsub());
        }
        dev.cacheaside.testing.Poll.until("lost and restored", TIMEOUT,
            () -> near.stats().nearCache().flushes() >= flushes + 2
                && !near.stats().nearCache().bypassing());
      }
      assertThat(onParallel(near.cacheAside("k", k -> Mono.just("v2")))).isEqualTo("v2");
    } finally {
      otherStore.close();
    }
  }

  @ParameterizedTest
  @EnumSource(RedisFixture.Topology.class)
  void cancellingALeaseRequest_onNonBlockingThreads(RedisFixture.Topology topology) {
    fixture = topology.open();
    // take(0) cancels as soon as it subscribes: the cancel path (a release script) runs on a
    // parallel thread.
    onParallel(fixture.store.getOrLease("k", TTL).flux().take(0).then());
    onParallel(fixture.store.getOrLeaseAll(List.of("k", "l"), TTL).take(0).then());
    onParallel(fixture.store.tryLease("k", TTL).flux().take(0).then());
    assertThat(onParallel(fixture.store.getOrLease("k", TTL)))
        .as("whatever the cancels left, the store still answers")
        .isInstanceOf(StoreLookup.class);
  }
}
