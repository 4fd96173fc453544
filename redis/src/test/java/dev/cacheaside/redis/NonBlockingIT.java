package dev.cacheaside.redis;

import static dev.cacheaside.core.testkit.CacheStoreContract.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
