package dev.cacheaside.spring.boot;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.resilience.ResilientCacheStore;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.boot.health.contributor.Status;
import reactor.core.publisher.Mono;

/**
 * The health of the cache: {@code UP} while the store answers {@code PING} and the resilient
 * store's circuit breaker lets calls through with nothing owed; {@link #DEGRADED} otherwise, with
 * the details: the breaker's state, the invalidations queued for replay, the last ping (when, how
 * long, its error).
 *
 * <h2>Why not DOWN</h2>
 * A cache that is away costs latency, not answers: reads go to the database. So its health never
 * takes the application down. {@code DEGRADED} is a status of its own, and Boot's status
 * aggregator leaves statuses out of the overall one unless
 * {@code management.endpoint.health.status.order} lists them: by default the application stays
 * {@code UP} (HTTP 200) while this component shows {@code DEGRADED}. The indicator is not in the
 * readiness or liveness groups. To page on it, list it in the order
 * ({@code status.order=DOWN,OUT_OF_SERVICE,DEGRADED,UP}) or alert on the component.
 *
 * @since 0.1
 */
public final class CacheAsideHealthIndicator implements ReactiveHealthIndicator {
  /** The cache is away or recovering; the application answers from the database. */
  public static final Status DEGRADED =
      new Status("DEGRADED", "the cache is away or recovering; reads go to the database");

  private final CacheStore store;
  private final @Nullable ResilientCacheStore resilient;
  private final Duration timeout;
  private final Clock clock;
  private volatile @Nullable Ping lastPing;

  /**
   * An indicator that pings {@code store} (the store itself, not its resilient wrapper, so an
   * open breaker does not hide a recovered Redis) and reads {@code resilient}'s state.
   */
  public CacheAsideHealthIndicator(CacheStore store, @Nullable ResilientCacheStore resilient,
      Duration timeout) {
    this(store, resilient, timeout, Clock.systemUTC());
  }

  CacheAsideHealthIndicator(CacheStore store, @Nullable ResilientCacheStore resilient,
      Duration timeout, Clock clock) {
    this.store = Objects.requireNonNull(store, "store must not be null");
    this.resilient = resilient;
    this.timeout = Objects.requireNonNull(timeout, "timeout must not be null");
    this.clock = clock;
  }

  /** The last ping's result (when it ran, how long it took, its error), or null before the first. */
  record Ping(Instant at, Duration took, @Nullable String error) {}

  @Override
  public Mono<Health> health() {
    return Mono.defer(() -> {
      long start = System.nanoTime();
      Instant at = clock.instant();
      return store.ping()
          .timeout(timeout)
          .then(Mono.fromSupplier(() -> new Ping(at, Duration.ofNanos(System.nanoTime() - start),
              null)))
          .onErrorResume(e -> Mono.just(new Ping(at, Duration.ofNanos(System.nanoTime() - start),
              e.getClass().getSimpleName() + ": " + e.getMessage())));
    }).map(this::health);
  }

  private Health health(Ping ping) {
    lastPing = ping;
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("store", store.toString());
    Map<String, Object> pingDetails = new LinkedHashMap<>();
    pingDetails.put("at", ping.at().toString());
    pingDetails.put("millis", ping.took().toMillis());
    if (ping.error() != null) {
      pingDetails.put("error", ping.error());
    }
    details.put("lastPing", pingDetails);
    boolean healthy = ping.error() == null;
    if (resilient != null) {
      CircuitBreaker.State state = resilient.circuitBreaker().getState();
      details.put("circuitBreaker", state.name());
      details.put("pendingInvalidations", resilient.pendingInvalidations());
      details.put("recovered", resilient.recovered());
      healthy &= state != CircuitBreaker.State.OPEN && state != CircuitBreaker.State.FORCED_OPEN
          && resilient.recovered();
    }
    return Health.status(healthy ? Status.UP : DEGRADED).withDetails(details).build();
  }

  /** The last ping, for tests and logs. */
  @Nullable Ping lastPing() {
    return lastPing;
  }
}
