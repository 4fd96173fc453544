package dev.cacheaside.resilience;

import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.CacheAsideDefaults;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.StoreState;
import dev.cacheaside.core.spi.StoreLookup;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowSynchronizationStrategy;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.retry.Retry;

/**
 * A {@link CacheStore} decorator that keeps a slow or dead cache from slowing or failing the
 * service, and loses no invalidation while the cache is away.
 *
 * <pre>{@code
 * ResilientCacheStore store = ResilientCacheStore.wrap(RedisCacheStore.create(redisClient));
 * CacheAside<Long, Product> products = CacheAside.<Long, Product>builder("products")
 *     .store(store).codec(JsonCodec.of(Product.class))
 *     .staleGrace(Duration.ofMinutes(1))          // stale-if-error when the database fails
 *     .loadDecorator(LoadBulkhead.of("catalog-db", 16, Duration.ofSeconds(1)))
 *     .build();
 * ResilienceMetrics.of(store).bindTo(meterRegistry);
 * }</pre>
 *
 * <h2>Time limit and circuit breaker</h2>
 * Every call runs under a Resilience4j {@link TimeLimiter} (default {@link #DEFAULT_TIME_LIMIT};
 * calls about many keys {@link #DEFAULT_BULK_TIME_LIMIT}) inside a {@link CircuitBreaker} ({@link #DEFAULT_CIRCUIT_BREAKER_CONFIG}). A call past the
 * limit fails with a {@code TimeoutException}; while the breaker is open every call fails at once
 * with a {@code CallNotPermittedException} without touching the store. The core turns a failed
 * read into a miss and answers from the loader, and does not cache what it loaded without a
 * lease. By default the first timeout opens the breaker ({@link Builder#openOnTimeout}), so a
 * stalled cache costs a read at most one time limit before its load (a read makes several store
 * calls; the first one cut off opens the breaker and the rest fail at once), and one more after
 * it only if the stall began during the load; a dead cache (connection refused) costs nothing
 * once the breaker opened. Half-open probes (ordinary calls, or the replay below) close it
 * again.
 *
 * <h2>Invalidations are never forgotten</h2>
 * A {@link #delete} that fails, times out or is skipped by the open breaker is queued, and
 * completes successfully once queued: the core does not report an invalidation as lost that will
 * still happen. The queue is replayed in the background as soon as the store answers (retried
 * every {@code replayRetryInterval} until it does). Until a key's queued delete has been replayed,
 * reads of that key are held back (they fail fast, so the core loads from the database), so this
 * instance never reads an entry whose invalidation is still owed.
 *
 * <p>When more than {@code maxPendingInvalidations} keys are owed, the queue is dropped and
 * instead, once the store answers, the namespace generation of every cache seen using this store
 * is bumped (every cache whose generation was read or bumped through it), which makes every older
 * entry unreachable. Until each bumped counter
 * has been re-read by this instance's caches (they re-read it once per
 * {@link CacheAsideBuilder#generationRefresh}), or {@code generationSettle} has passed, all reads
 * are held back. Other instances see the bump within their generation refresh interval. A delete
 * fails only when it can be neither queued nor covered: the queue is full and no cache's counter
 * was ever seen.
 *
 * <h2>With Lettuce</h2>
 * By default Lettuce keeps the commands issued while it is disconnected in a buffer until it has
 * reconnected, and backs its reconnect attempts off up to 30 s: every call then costs the time
 * limit until the breaker opens, and the cache is back only when Lettuce tries again. For a cache,
 * set {@code ClientOptions.disconnectedBehavior(REJECT_COMMANDS)} (calls fail at once while
 * disconnected) and a reconnect delay capped near the breaker's open wait, e.g.
 * {@code Delay.exponential(Duration.ofMillis(10), Duration.ofSeconds(1), 2, MILLISECONDS)};
 * {@code OutageBenchmark} in the examples measures both.
 *
 * <p>The decorator keeps its queue in memory: an instance that stops while it owes invalidations
 * loses them (they are logged), as does {@link #close()}.
 *
 * <p>Thread-safe; share one per store.
 */
public final class ResilientCacheStore extends ForwardingCacheStore implements AutoCloseable {
  private static final Logger LOG = Loggers.getLogger(ResilientCacheStore.class);

  /** Default name of the circuit breaker and time limiter, and the metrics' {@code store} tag. */
  public static final String DEFAULT_NAME = "cache-store";
  /**
   * Default limit on one store call: a cache answers in well under a millisecond, and waiting
   * longer than the database would take defeats its purpose.
   */
  public static final Duration DEFAULT_TIME_LIMIT = Duration.ofMillis(50);
  /**
   * Default limit on a call about many keys ({@link Builder#bulkTimeLimit}): a 500-key multi-get
   * or lease script on a busy Redis can take tens of milliseconds without anything being wrong.
   */
  public static final Duration DEFAULT_BULK_TIME_LIMIT = Duration.ofMillis(250);
  /**
   * Default circuit breaker, for a cache: it opens when half of the last 20 calls (at least 10)
   * failed, stays open 250 ms the first time, doubling up to 1 s while its probes keep failing,
   * then lets 3 probe calls decide. A lock-free sliding window (Reactor threads must not park),
   * and exceptions without stack traces (an open breaker fails every call). Calls cut off by the
   * time limit open it at once (see {@link Builder#openOnTimeout}).
   */
  public static final CircuitBreakerConfig DEFAULT_CIRCUIT_BREAKER_CONFIG =
      CircuitBreakerConfig.custom()
          .slidingWindow(20, 10, SlidingWindowType.COUNT_BASED,
              SlidingWindowSynchronizationStrategy.LOCK_FREE)
          .failureRateThreshold(50)
          .waitIntervalFunctionInOpenState(IntervalFunction.ofExponentialBackoff(
              Duration.ofMillis(250), 2.0, Duration.ofSeconds(1)))
          .permittedNumberOfCallsInHalfOpenState(3)
          .writableStackTraceEnabled(false)
          .build();
  /** Default bound on the keys whose invalidation is queued before a generation bump is owed. */
  public static final int DEFAULT_MAX_PENDING_INVALIDATIONS = 10_000;
  /** Default number of keys one replayed delete carries. */
  public static final int DEFAULT_REPLAY_BATCH_SIZE = 100;
  /** Default pause before the replay tries a store that did not answer again. */
  public static final Duration DEFAULT_REPLAY_RETRY_INTERVAL = Duration.ofMillis(500);
  /**
   * Default longest hold on reads after a generation bump: the default generation refresh
   * interval, plus a second for a counter read that was already under way.
   */
  public static final Duration DEFAULT_GENERATION_SETTLE =
      CacheAsideDefaults.GENERATION_REFRESH.plusSeconds(1);

  private final String name;
  private final CircuitBreaker breaker;
  private final TimeLimiter limiter;
  private final TimeLimiter bulkLimiter;
  private final Counters counters = new Counters();
  private final Guard guard;
  private final InvalidationLog log;
  private final int replayBatchSize;
  private final Duration replayRetryInterval;
  private final Scheduler scheduler;
  private final HeldBackException heldBack;
  private final AtomicBoolean replaying = new AtomicBoolean();
  private volatile @Nullable Disposable replay;
  private volatile boolean closed;

  private ResilientCacheStore(Builder builder, CircuitBreaker breaker, TimeLimiter limiter,
      TimeLimiter bulkLimiter) {
    super(builder.store);
    this.name = builder.name;
    this.breaker = breaker;
    this.limiter = limiter;
    this.bulkLimiter = bulkLimiter;
    this.guard = new Guard(breaker, limiter, bulkLimiter, builder.openOnTimeout, counters);
    this.log = new InvalidationLog(builder.maxPendingInvalidations,
        builder.generationSettle.toMillis(), builder.scheduler, counters);
    this.replayBatchSize = builder.replayBatchSize;
    this.replayRetryInterval = builder.replayRetryInterval;
    this.scheduler = builder.scheduler;
    this.heldBack = new HeldBackException(name);
  }

  /** Wraps {@code store} with the defaults. */
  public static ResilientCacheStore wrap(CacheStore store) {
    return builder(store).build();
  }

  /** Wraps {@code store} with the given breaker and time limiter, other options at defaults. */
  public static ResilientCacheStore wrap(CacheStore store, CircuitBreaker circuitBreaker,
      TimeLimiter timeLimiter) {
    return builder(store).circuitBreaker(circuitBreaker).timeLimiter(timeLimiter).build();
  }

  /** A builder for a decorator of {@code store}. */
  public static Builder builder(CacheStore store) {
    return new Builder(store);
  }

  /** The name given to the builder: the metrics' {@code store} tag. */
  public String name() {
    return name;
  }

  /**
   * {@link StoreState#DOWN} while the breaker is open (calls are skipped),
   * {@link StoreState#DEGRADED} while it is half-open (probing), else the delegate's state. One
   * volatile read: a near cache asks on every read, and bypasses its local tier unless
   * {@code UP}, since invalidations may be held back meanwhile.
   */
  @Override
  public StoreState state() {
    return switch (breaker.getState()) {
      case OPEN, FORCED_OPEN -> StoreState.DOWN;
      case HALF_OPEN -> StoreState.DEGRADED;
      default -> delegate().state();
    };
  }

  /** The circuit breaker every call goes through (its state, metrics and events). */
  public CircuitBreaker circuitBreaker() {
    return breaker;
  }

  /** The time limiter every call goes through. */
  public TimeLimiter timeLimiter() {
    return limiter;
  }

  /** The time limiter of calls about many keys (multi-get, batched stores and leases, deletes). */
  public TimeLimiter bulkTimeLimiter() {
    return bulkLimiter;
  }

  /** A snapshot of the counters. */
  public ResilienceStats stats() {
    return counters.snapshot();
  }

  /** The number of keys whose invalidation is queued, waiting for the store. */
  public int pendingInvalidations() {
    return log.pendingCount();
  }

  /**
   * Whether this decorator owes the store nothing: no queued invalidation, no generation bump
   * owed, and no bump still settling. Reads are held back only while this is false.
   */
  public boolean recovered() {
    return log.recovered();
  }

  /**
   * Stops the background replay. Invalidations still owed are forgotten (logged); calls keep
   * working. Does not close the wrapped store. Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    Disposable current = replay;
    if (current != null) {
      current.dispose();
    }
    if (!log.idle()) {
      LOG.warn("cache store '{}' closed while it still owes {} invalidations{}; they are lost",
          name, log.pendingCount(), log.bumpOwed() ? " and a generation bump" : "");
    }
  }

  // ---- reads: held back while their invalidation is owed ----

  @Override
  public Mono<byte[]> get(String key) {
    Mono<byte[]> call = super.get(key);
    return Mono.defer(() -> log.holdsBack(key) ? heldBack() : guard.call(call));
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    List<String> copy = List.copyOf(keys);
    Mono<Map<String, byte[]>> call = super.getAll(copy);
    return Mono.defer(() -> log.holdsBackAny(copy) ? heldBack() : guard.callMany(call));
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    Mono<StoreLookup> call = super.getOrLease(key, leaseTtl);
    return Mono.defer(() -> log.holdsBack(key) ? heldBack() : guard.call(call));
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    List<String> copy = List.copyOf(keys);
    // Collected so that the time limit bounds the whole call, not each element.
    Mono<List<KeyedLookup>> call = super.getOrLeaseAll(copy, leaseTtl).collectList();
    return Mono.defer(() -> log.holdsBackAny(copy) ? this.<List<KeyedLookup>>heldBack()
        : guard.callMany(call)).flatMapIterable(lookups -> lookups);
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return guard.call(super.tryLease(key, leaseTtl));
  }

  private <T> Mono<T> heldBack() {
    counters.heldBackReads.increment();
    return Mono.error(heldBack);
  }

  /**
   * A read of a cache's generation. Never held back: the caches must learn a bumped value. One
   * that begins after this decorator's bump succeeded tells it the caches of this instance now use
   * the new generation.
   */
  @Override
  public Mono<Long> generation(String namespace) {
    return generationCall(namespace, super.generation(namespace));
  }

  /** A bump of a cache's generation: remembered, so a bump owed after an outage covers it. */
  @Override
  public Mono<Long> bumpGeneration(String namespace) {
    return generationCall(namespace, super.bumpGeneration(namespace));
  }

  /** A read of the store's clock: guarded like any call, so an open breaker skips it too. */
  @Override
  public Mono<Long> time(String namespace) {
    return guard.call(super.time(namespace));
  }

  private Mono<Long> generationCall(String namespace, Mono<Long> call) {
    log.sawNamespace(namespace);
    return Mono.defer(() -> {
      Mono<Long> guarded = guard.call(call);
      return log.awaitsReread(namespace) ? guarded.doOnSuccess(v -> log.confirmed(namespace))
          : guarded;
    });
  }

  // ---- writes: time-limited, failures reported to the core (which ignores them) ----

  @Override
  public Mono<Void> set(String key, byte[] value, Duration ttl) {
    return guard.call(super.set(key, value, ttl));
  }

  @Override
  public Mono<Void> setAll(Collection<StoreEntry> entries) {
    return guard.callMany(super.setAll(entries));
  }

  @Override
  public Mono<Boolean> setIfLeased(String key, String token, byte[] value, Duration ttl) {
    return guard.call(super.setIfLeased(key, token, value, ttl));
  }

  @Override
  public Flux<String> setAllIfLeased(Collection<LeasedEntry> entries) {
    return guard.callMany(super.setAllIfLeased(entries).collectList())
        .flatMapIterable(keys -> keys);
  }

  @Override
  public Mono<Void> releaseLease(String key, String token) {
    return guard.call(super.releaseLease(key, token));
  }

  // ---- deletes: kept until they reach the store ----

  @Override
  public Mono<Void> delete(Collection<String> keys) {
    List<String> copy = List.copyOf(keys);
    return invalidation(copy, super.delete(copy));
  }

  @Override
  public Mono<Void> delete(String key) {
    return invalidation(List.of(key), super.delete(key));
  }

  private Mono<Void> invalidation(List<String> keys, Mono<Void> call) {
    return Mono.defer(() -> {
      long issuedAt = log.sequence();
      return (keys.size() > 1 ? guard.callMany(call) : guard.call(call))
          .doOnSuccess(done -> log.deleted(keys, issuedAt))
          .onErrorResume(e -> {
            if (!log.keep(keys)) {
              LOG.error("cache store '{}': delete of {} keys failed and cannot be queued (the queue"
                  + " is full and no cache's generation counter is known): {}", name, keys.size(),
                  e.toString());
              return Mono.error(e);
            }
            startReplay();
            return Mono.empty();
          });
    });
  }

  // ---- the replay ----

  /** Starts the replay unless it runs already; it ends when nothing is owed. */
  private void startReplay() {
    if (closed || !replaying.compareAndSet(false, true)) {
      return;
    }
    replay = Mono.defer(this::replayStep)
        .repeat()
        .takeUntil(more -> !more)
        // A step fails while the store is away (time limit, open breaker): wait, then go on.
        .retryWhen(Retry.fixedDelay(Long.MAX_VALUE, replayRetryInterval).scheduler(scheduler))
        .then()
        .subscribe(null,
            e -> {
              LOG.error("cache store '{}': invalidation replay stopped: {}", name, e.toString());
              replaying.set(false);
            },
            this::replayEnded);
  }

  private void replayEnded() {
    replaying.set(false);
    // Owed work may have arrived after the last step found none and before the flag dropped.
    if (!log.idle()) {
      startReplay();
    }
  }

  /** Does one step of what is owed; emits whether there may be more. */
  private Mono<Boolean> replayStep() {
    InvalidationLog.Step step = closed ? null : log.nextStep(replayBatchSize);
    if (step == null) {
      return Mono.just(false);
    }
    if (step instanceof InvalidationLog.Bump bump) {
      return Flux.fromIterable(bump.namespaces())
          .concatMap(namespace -> guard.call(super.bumpGeneration(namespace)))
          .then(Mono.fromRunnable(() -> {
            log.bumped(bump.namespaces());
            LOG.warn("cache store '{}': invalidations were lost in an outage; bumped the "
                + "generation of {} caches", name, bump.namespaces().size());
          }))
          .doOnError(e -> log.bumpFailed())
          .thenReturn(true);
    }
    InvalidationLog.Replay batch = (InvalidationLog.Replay) step;
    return guard.callMany(super.delete(batch.keys()))
        .then(Mono.fromRunnable(() -> log.deleted(batch.keys(), batch.sequence())))
        .thenReturn(true);
  }

  @Override
  public String toString() {
    return "ResilientCacheStore[" + name + ", " + breaker.getState() + ", pending="
        + log.pendingCount() + ", " + delegate() + "]";
  }

  /**
   * Options of a {@link ResilientCacheStore}. Each setter checks its argument at once; options
   * that clash fail in {@link #build()}.
   */
  public static final class Builder {
    private final CacheStore store;
    private String name = DEFAULT_NAME;
    private @Nullable CircuitBreaker circuitBreaker;
    private @Nullable CircuitBreakerConfig circuitBreakerConfig;
    private @Nullable TimeLimiter timeLimiter;
    private @Nullable Duration timeLimit;
    private @Nullable Duration bulkTimeLimit;
    private int maxPendingInvalidations = DEFAULT_MAX_PENDING_INVALIDATIONS;
    private int replayBatchSize = DEFAULT_REPLAY_BATCH_SIZE;
    private Duration replayRetryInterval = DEFAULT_REPLAY_RETRY_INTERVAL;
    private Duration generationSettle = DEFAULT_GENERATION_SETTLE;
    private Scheduler scheduler = Schedulers.parallel();
    private boolean openOnTimeout = true;

    private Builder(CacheStore store) {
      this.store = Objects.requireNonNull(store, "store must not be null");
    }

    /**
     * Names the circuit breaker and time limiter this builder creates, and tags the metrics.
     * Default {@link #DEFAULT_NAME}.
     */
    public Builder name(String name) {
      Objects.requireNonNull(name, "name must not be null");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name must not be blank");
      }
      this.name = name;
      return this;
    }

    /** Uses this circuit breaker (shared with other code if you like) instead of a new one. */
    public Builder circuitBreaker(CircuitBreaker circuitBreaker) {
      this.circuitBreaker = Objects.requireNonNull(circuitBreaker,
          "circuitBreaker must not be null");
      return this;
    }

    /**
     * Creates the circuit breaker from this configuration. Default
     * {@link #DEFAULT_CIRCUIT_BREAKER_CONFIG}; start from it with
     * {@code CircuitBreakerConfig.from(DEFAULT_CIRCUIT_BREAKER_CONFIG)}.
     */
    public Builder circuitBreakerConfig(CircuitBreakerConfig config) {
      this.circuitBreakerConfig = Objects.requireNonNull(config,
          "circuitBreakerConfig must not be null");
      return this;
    }

    /** Uses this time limiter instead of a new one. */
    public Builder timeLimiter(TimeLimiter timeLimiter) {
      this.timeLimiter = Objects.requireNonNull(timeLimiter, "timeLimiter must not be null");
      return this;
    }

    /**
     * The limit on each store call about one key. Default {@link #DEFAULT_TIME_LIMIT}; at least
     * 1 ms.
     */
    public Builder timeLimit(Duration timeLimit) {
      this.timeLimit = positive(timeLimit, "timeLimit");
      return this;
    }

    /**
     * The limit on each store call about many keys: a bulk window's multi-get, lease script and
     * batched store, and multi-key deletes. Such a call legitimately takes longer than a
     * single-key one (hundreds of keys, Lua scripts), and one cut off opens the breaker for every
     * read. Default {@link #DEFAULT_BULK_TIME_LIMIT}, or the single-key limit if that is longer;
     * at least 1 ms.
     */
    public Builder bulkTimeLimit(Duration bulkTimeLimit) {
      this.bulkTimeLimit = positive(bulkTimeLimit, "bulkTimeLimit");
      return this;
    }

    /**
     * Whether a call cut off by the time limit opens the circuit breaker at once (default
     * {@code true}). A cache that normally answers in well under a millisecond and now took the
     * whole limit has stalled; every further call would cost the limit again, and a read makes
     * several. Opening at the first timeout bounds what a read spends on a stalled store to one
     * time limit. Switch off to let the breaker's failure rate alone decide.
     */
    public Builder openOnTimeout(boolean openOnTimeout) {
      this.openOnTimeout = openOnTimeout;
      return this;
    }

    /**
     * How many keys' invalidations are queued before a generation bump is owed instead. Default
     * {@link #DEFAULT_MAX_PENDING_INVALIDATIONS}; 0 bumps on every lost invalidation.
     */
    public Builder maxPendingInvalidations(int maxPendingInvalidations) {
      if (maxPendingInvalidations < 0) {
        throw new IllegalArgumentException(
            "maxPendingInvalidations must not be negative but was " + maxPendingInvalidations);
      }
      this.maxPendingInvalidations = maxPendingInvalidations;
      return this;
    }

    /** How many keys one replayed delete carries. Default {@link #DEFAULT_REPLAY_BATCH_SIZE}. */
    public Builder replayBatchSize(int replayBatchSize) {
      if (replayBatchSize <= 0) {
        throw new IllegalArgumentException(
            "replayBatchSize must be positive but was " + replayBatchSize);
      }
      this.replayBatchSize = replayBatchSize;
      return this;
    }

    /**
     * The pause before the replay tries again a store that did not answer. Default
     * {@link #DEFAULT_REPLAY_RETRY_INTERVAL}.
     */
    public Builder replayRetryInterval(Duration replayRetryInterval) {
      this.replayRetryInterval = positive(replayRetryInterval, "replayRetryInterval");
      return this;
    }

    /**
     * The longest time reads are held back after a generation bump, waiting for this instance's
     * caches to re-read their counters. Make it longer than the longest
     * {@link CacheAsideBuilder#generationRefresh} of the caches on this store. Default
     * {@link #DEFAULT_GENERATION_SETTLE}.
     */
    public Builder generationSettle(Duration generationSettle) {
      Objects.requireNonNull(generationSettle, "generationSettle must not be null");
      if (generationSettle.isNegative()) {
        throw new IllegalArgumentException(
            "generationSettle must not be negative but was " + generationSettle);
      }
      this.generationSettle = generationSettle;
      return this;
    }

    /**
     * The scheduler of the replay's retry timer and the settle clock. Default
     * {@link Schedulers#parallel()}; a {@code VirtualTimeScheduler} in tests.
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
      return this;
    }

    /**
     * Builds the decorator.
     *
     * @throws IllegalStateException if both a circuit breaker and its configuration, or both a
     *     time limiter and a time limit, were given
     */
    public ResilientCacheStore build() {
      if (circuitBreaker != null && circuitBreakerConfig != null) {
        throw new IllegalStateException(
            "store '" + name + "': set circuitBreaker(...) or circuitBreakerConfig(...), not both");
      }
      if (timeLimiter != null && timeLimit != null) {
        throw new IllegalStateException(
            "store '" + name + "': set timeLimiter(...) or timeLimit(...), not both");
      }
      CircuitBreaker breaker = circuitBreaker != null ? circuitBreaker
          : CircuitBreaker.of(name, circuitBreakerConfig != null ? circuitBreakerConfig
              : DEFAULT_CIRCUIT_BREAKER_CONFIG);
      TimeLimiter limiter = timeLimiter != null ? timeLimiter
          : TimeLimiter.of(name, TimeLimiterConfig.custom()
              .timeoutDuration(timeLimit != null ? timeLimit : DEFAULT_TIME_LIMIT)
              .build());
      Duration single = limiter.getTimeLimiterConfig().getTimeoutDuration();
      Duration bulk = bulkTimeLimit != null ? bulkTimeLimit
          : single.compareTo(DEFAULT_BULK_TIME_LIMIT) > 0 ? single : DEFAULT_BULK_TIME_LIMIT;
      TimeLimiter bulkLimiter = TimeLimiter.of(name + "-bulk",
          TimeLimiterConfig.custom().timeoutDuration(bulk).build());
      return new ResilientCacheStore(this, breaker, limiter, bulkLimiter);
    }

    private static Duration positive(Duration duration, String what) {
      Objects.requireNonNull(duration, what + " must not be null");
      if (duration.toMillis() < 1) {
        throw new IllegalArgumentException(what + " must be at least 1 ms but was " + duration);
      }
      return duration;
    }
  }
}
