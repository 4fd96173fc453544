package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.Codec;
import dev.cacheaside.redis.RedisCacheStore;
import dev.cacheaside.testing.Poll;
import dev.cacheaside.testing.RealServers;
import io.lettuce.core.RedisClient;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * A cold cache in a real Redis meets a burst of 1,000 distinct keys: the loads reaching the real
 * PostgreSQL reach the bulkhead's cap and never exceed it, although its connection pool would
 * allow more.
 */
@RealServers
@ExtendWith(NoBlockingCalls.class)
class LoadBulkheadIT {
  private static final int KEYS = 1_000;
  private static final int CAP = 4;

  @Test
  void coldCacheBurstOfThousandDistinctKeys_neverMoreConcurrentLoadsThanTheCap(
      RedisClient client, ConnectionFactory db) {
    ConcurrentLoads loads = new ConcurrentLoads();
    LoadBulkhead bulkhead = LoadBulkhead.of("db", CAP, Duration.ofMinutes(1));
    try (Catalog catalog = new Catalog(db, 16).create(KEYS);
        RedisCacheStore redisStore = RedisCacheStore.create(client);
        ResilientCacheStore store = ResilientCacheStore.builder(redisStore)
            .timeLimit(Duration.ofSeconds(1)).build()) {
      CacheAside<Integer, String> items = CacheAside.<Integer, String>builder("items")
          .store(store).codec(Codec.utf8()).loadDecorator(bulkhead).build();
      // The first loads hold until CAP of them run at once, so the cap is certainly reached
      // however fast PostgreSQL answers (without the gate, a quick query could end before the
      // next read got to its load, and the most at once would depend on the machine).
      Sinks.Empty<Void> capReached = Sinks.empty();
      List<String> values = Flux.range(0, KEYS)
          .flatMap(id -> items.cacheAside(id, key -> loads.track(Mono.defer(() -> {
                if (loads.active.get() >= CAP) {
                  capReached.tryEmitEmpty();
                }
                return capReached.asMono().then(catalog.load(key));
              })))
              .subscribeOn(Schedulers.parallel()), KEYS)
          .collectList()
          .block(Duration.ofSeconds(120));

      assertThat(values).hasSize(KEYS).allMatch(v -> v.startsWith("v0-"));
      assertThat(loads.max).as("most loads at once").hasValue(CAP);
      assertThat(loads.calls).hasValue(KEYS);
      assertThat(items.stats().loadFailures()).isZero();
      assertThat(bulkhead.waitingLoads()).isZero();
      // A load hands its value on (onNext) before it completes and its permit goes back, and the
      // last value can reach this thread in between: wait for the permit, bounded.
      Poll.until("every permit back", Duration.ofSeconds(10),
          () -> bulkhead.bulkhead().getMetrics().getAvailableConcurrentCalls() == CAP);
    }
  }
}
