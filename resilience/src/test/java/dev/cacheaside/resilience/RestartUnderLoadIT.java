package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.ReadTally;
import dev.cacheaside.testing.RedisClusterExtension;
import dev.cacheaside.testing.RedisExtension;
import dev.cacheaside.testing.TestRedis;
import dev.cacheaside.testing.TestRedisCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Redis killed and restarted (empty) under an open-loop read load, with the store the README
 * recommends ({@code RedisCacheStore.builder().uri(..)}, or {@code clusterUris(..)}: Lettuce
 * rejecting commands while disconnected, reconnecting within a second), plain and behind a
 * {@link ResilientCacheStore}, standalone and in a cluster (one master killed). Every read carries
 * its own timeout; every read issued must be answered, by the cache or by the loader, and the
 * cache must be read again once Redis is back.
 */
@ExtendWith({RedisExtension.class, RedisClusterExtension.class, NoBlockingCalls.class})
class RestartUnderLoadIT {
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration BOUND = Duration.ofSeconds(30);
  private static final int KEYS = 200;
  /** About 300 reads a second: 3 every 10 ms. */
  private static final Duration TICK = Duration.ofMillis(10);
  private static final int READS_PER_TICK = 3;

  enum Wiring {
    PLAIN_STANDALONE, RESILIENT_STANDALONE, PLAIN_CLUSTER, RESILIENT_CLUSTER;

    boolean cluster() {
      return this == PLAIN_CLUSTER || this == RESILIENT_CLUSTER;
    }

    boolean resilient() {
      return this == RESILIENT_STANDALONE || this == RESILIENT_CLUSTER;
    }
  }

  private RedisCacheStore redisStore;
  private ResilientCacheStore resilient;

  @AfterEach
  void close() {
    if (resilient != null) {
      resilient.close();
    }
    if (redisStore != null) {
      redisStore.close();
    }
  }

  /** The reads of a run, tallied; every one bounded by its own timeout. */
  private static final class Load {
    final ReadTally reads = new ReadTally(READ_TIMEOUT);
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicBoolean ended = new AtomicBoolean();

    Load(CacheAside<Integer, String> items) {
      AtomicLong next = new AtomicLong();
      Flux.interval(TICK)
          .onBackpressureDrop()
          .takeWhile(tick -> running.get())
          .flatMapIterable(tick -> java.util.Collections.nCopies(READS_PER_TICK, tick))
          .flatMap(tick -> {
            int id = (int) (next.getAndIncrement() % KEYS);
            return reads.read(items.cacheAside(id, key -> Mono.just("v" + key)));
          }, 4096)
          .doFinally(signal -> ended.set(true))
          .subscribe();
    }

    /** Stops issuing, and waits until every read issued has ended. */
    void stop() {
      running.set(false);
      Poll.until("every read issued to end", BOUND, ended::get);
    }
  }

  @ParameterizedTest
  @EnumSource(Wiring.class)
  void redisKilledAndRestartedUnderLoad_everyReadIsAnswered_andTheCacheIsReadAgain(Wiring wiring) {
    TestRedis redis = TestRedis.get();
    TestRedisCluster cluster = TestRedisCluster.get();
    redisStore = wiring.cluster()
        ? RedisCacheStore.builder().clusterUris(cluster.uris().stream().map(Object::toString)
            .toArray(String[]::new)).build()
        : RedisCacheStore.builder().uri(redis.uri().toString()).build();
    CacheStore store = redisStore;
    if (wiring.resilient()) {
      resilient = ResilientCacheStore.builder(redisStore).ownsStore(false).build();
      store = resilient;
    }
    CacheAside<Integer, String> items = CacheAside.<Integer, String>builder("items")
        .store(store).codec(Codec.utf8()).build();

    Load load = new Load(items);
    try {
      Poll.until("hits before the kill", BOUND, () -> items.stats().hits() >= 300);
      long errorsBefore = items.stats().storeErrors();
      long issuedAtKill = load.reads.issued.sum();
      if (wiring.cluster()) {
        cluster.stopNode(0);
      } else {
        redis.stop();
      }
      // Down for about 300 reads (a second), then back, empty.
      Poll.until("reads while Redis is down", BOUND,
          () -> load.reads.issued.sum() >= issuedAtKill + 300);
      assertThat(items.stats().storeErrors()).as("the outage was seen").isGreaterThan(errorsBefore);
      if (wiring.cluster()) {
        cluster.startNode(0);
      } else {
        redis.start();
      }
      long hitsAtRestart = items.stats().hits();
      Poll.until("hits after the restart", BOUND,
          () -> items.stats().hits() >= hitsAtRestart + 300);
    } finally {
      load.stop();
    }
    assertThat(load.reads.failed.sum()).as("reads failed or unanswered within %s", READ_TIMEOUT)
        .isZero();
    assertThat(load.reads.answered.sum()).as("reads answered, of %d issued", load.reads.issued.sum())
        .isEqualTo(load.reads.issued.sum());
  }
}
