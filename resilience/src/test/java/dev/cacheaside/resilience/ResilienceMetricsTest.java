package dev.cacheaside.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.InMemoryCacheStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import dev.cacheaside.core.testkit.FaultyStore;

/** The meters read the live counters, and Resilience4j's own meters come along. */
class ResilienceMetricsTest {
  private final MeterRegistry registry = new SimpleMeterRegistry();

  private double counter(String name, String... tags) {
    return registry.get(name).tags(tags).functionCounter().count();
  }

  @Test
  void store_countersAndBreakerState() {
    FaultyStore faulty = new FaultyStore(InMemoryCacheStore.create());
    try (ResilientCacheStore store = ResilientCacheStore.builder(faulty).name("redis")
        .replayRetryInterval(Duration.ofMinutes(1)).build()) {
      ResilienceMetrics.of(store).bindTo(registry);
      faulty.mode = FaultyStore.Mode.DOWN;
      StepVerifier.create(store.delete(List.of("a", "b"))).verifyComplete();
      StepVerifier.create(store.get("a")).expectError(HeldBackException.class).verify();
      StepVerifier.create(store.get("c")).expectError().verify();

      assertThat(counter("cache.invalidations", "store", "redis", "result", "queued")).isEqualTo(2);
      assertThat(counter("cache.store.skipped", "store", "redis", "reason", "recovering"))
          .isEqualTo(1);
      assertThat(counter("cache.store.failures", "store", "redis")).isEqualTo(3);
      assertThat(registry.get("cache.invalidations.pending").tags("store", "redis").gauge()
          .value()).isEqualTo(2);
      assertThat(registry.get("resilience4j.circuitbreaker.state").tags("name", "redis", "state",
          "closed").gauge().value()).isEqualTo(1);
      assertThat(counter("cache.invalidations", "store", "redis", "result", "unflushed")).isZero();
      assertThat(counter("cache.store.slow.excused", "store", "redis")).isZero();
    }
  }

  @Test
  void bulkhead_waitsRejectionsAndResilience4jGauges() {
    LoadBulkhead bulkhead = LoadBulkhead.of("db", 1, Duration.ZERO);
    ResilienceMetrics.of(bulkhead).bindTo(registry);
    Disposable holder = bulkhead.decorate(Mono.never()).subscribe();
    StepVerifier.create(bulkhead.decorate(Mono.just(1))).expectError().verify();
    assertThat(counter("cache.load.bulkhead.rejected", "bulkhead", "db")).isEqualTo(1);
    assertThat(counter("cache.load.bulkhead.waited", "bulkhead", "db")).isEqualTo(1);
    assertThat(registry.get("cache.load.bulkhead.waiting").gauge().value()).isZero();
    assertThat(registry.get("resilience4j.bulkhead.available.concurrent.calls")
        .tags("name", "db").gauge().value()).isZero();
    holder.dispose();
  }
}
