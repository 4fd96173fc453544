package dev.cacheaside.resilience;

import dev.cacheaside.core.CacheAsideBuilder;
import dev.cacheaside.core.CacheAsideDefaults;
import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.StoreState;
import dev.cacheaside.core.spi.StoreLookup;
import dev.cacheaside.core.spi.StoreState;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowSynchronizationStrategy;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;
import io.github.resilience4j.core.IntervalFunction;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
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
 * ...
 * store.close();   // flushes owed invalidations, then closes the Redis store it wraps
 * }</pre>
 *
 * <h2>Circuit breaker, on evidence</h2>
 * Every call goes through a Resilience4j {@link CircuitBreaker} ({@link
 * #DEFAULT_CIRCUIT_BREAKER_CONFIG}): while it is open, calls fail at once with a
 * {@code CallNotPermittedException} without touching the store, and the core answers reads from
 * the loader (and caches nothing it loaded without a lease). It opens on evidence that the store
 * is failing: a rate of errors or of slow calls over its sliding window, never one slow call. A
 * slow call during which this JVM itself lagged (a GC pause, its threads starved of CPU: the
 * decorator's own timer ran late meanwhile) is not held against the store, so a client saturated
 * by its own load does not open the breaker and send its reads to the database. While the breaker
 * is open or half-open, the decorator probes the store in the background ({@link CacheStore#ping})
 * so that it closes when the store is back even if no reads come.
 *
 * <h2>Time limit</h2>
 * Each call is cut off at a time limit ({@link #DEFAULT_TIME_LIMIT}; calls about many keys
 * {@link #DEFAULT_BULK_TIME_LIMIT}), kept by one timer for all calls rather than a scheduled
 * timeout per call. A call cut off fails with a {@code TimeoutException} and counts as an error
 * towards opening the breaker. Deletes have no time limit (see below); the core's own
 * {@link CacheAsideBuilder#storeTimeout} bounds them, as it bounds every call the core makes.
 *
 * <h2>Invalidations are never forgotten</h2>
 * A {@link #delete} that fails, is skipped by the open breaker, or is given up by its caller
 * before the store answered is queued; one that fails or is skipped then completes successfully,
 * since the invalidation will still happen. A delete is never queued on a guess while the store
 * answers: it waits for the store's answer however slow, so an invalidation reported done has
 * reached the store, and other instances cannot read the old entry after it. The queue is
 * replayed in the background as soon as the store answers (retried every
 * {@code replayRetryInterval} until it does). Until a key's queued delete has been replayed, reads
 * of that key are held back (they fail fast, so the core loads from the database), so this
 * instance never reads an entry whose invalidation is still owed.
 *
 * <p>When more than {@code maxPendingInvalidations} keys are owed, the queue is dropped and
 * instead, once the store answers, the namespace generation of every cache seen using this store
 * is bumped (every cache whose generation was read or bumped through it), which makes every older
 * entry unreachable. Until each bumped counter has been re-read by this instance's caches (they
 * re-read it once per {@link CacheAsideBuilder#generationRefresh}), or {@code generationSettle}
 * has passed, all reads are held back. Other instances see the bump within their generation
 * refresh interval. A delete fails only when it can be neither queued nor covered: the queue is
 * full and no cache's counter was ever seen.
 *
 * <h2>State</h2>
 * {@link #state()} is {@link StoreState#DOWN} while the breaker is open, {@link
 * StoreState#DEGRADED} while it is half-open, invalidations are owed or a generation bump
 * settles, and otherwise the wrapped store's own.
 *
 * <h2>Closing</h2>
 * {@link #close()} (or {@link #closeAsync()}) flushes the queued invalidations, waiting at most
 * {@code closeTimeout} for the store; what could not be flushed is logged and counted
 * ({@link ResilienceStats#invalidationsUnflushed()}). Then it stops its background work and, unless
 * built with {@code ownsStore(false)}, closes the wrapped store if that is {@link AutoCloseable}.
 * Caches need no closing; close this decorator, then the Redis client.
 *
 * <h2>With Lettuce</h2>
 * By default Lettuce keeps the commands issued while it is disconnected in a buffer until it has
 * reconnected, and backs its reconnect attempts off up to 30 s. For a cache, use the options of
 * {@code RedisCacheStore.recommendedClientOptions()} (or let {@code
 * RedisCacheStore.builder().uri(...)} make the client): commands rejected at once while
 * disconnected, reconnects at least every second, a command timeout.
 *
 * <p>Thread-safe; share one per store.
 *
 * @since 0.1
 */
public final class ResilientCacheStore extends ForwardingCacheStore implements AutoCloseable {
  private static final Logger LOG = Loggers.getLogger(ResilientCacheStore.class);

  /** Default name of the circuit breaker, and the metrics' {@code store} tag. */
  public static final String DEFAULT_NAME = "cache-store";
  /**
   * Default limit on one store call about one key. A cache answers in well under a millisecond;
   * the limit is a bound for a store that has stopped answering, with room for the pauses of a
   * busy client (see README, "Figures"), since a call cut off sends its read to the database.
   */
  public static final Duration DEFAULT_TIME_LIMIT = Duration.ofMillis(250);
  /**
   * Default limit on a call about many keys ({@link Builder#bulkTimeLimit}): a 500-key multi-get
   * or lease script on a busy Redis can take tens of milliseconds without anything being wrong.
   */
  public static final Duration DEFAULT_BULK_TIME_LIMIT = Duration.ofMillis(500);
  /**
   * Default circuit breaker, for a cache: it opens when, over the last two seconds (and at least
   * 10 calls), half of the calls failed or half took longer than 100 ms; it stays open 250 ms
   * the first time, doubling up to 1 s while its probes keep failing, then lets 3 probe calls
   * decide. A window of time rather than of calls, so that a pause of the client thins into the
   * calls of its two seconds instead of filling a window of a hundred calls made in a millisecond.
   * A lock-free sliding window (Reactor threads must not park), and exceptions without stack
   * traces (an open breaker fails every call).
   */
  public static final CircuitBreakerConfig DEFAULT_CIRCUIT_BREAKER_CONFIG =
      CircuitBreakerConfig.custom()
          .slidingWindow(2, 10, SlidingWindowType.TIME_BASED,
              SlidingWindowSynchronizationStrategy.LOCK_FREE)
          .failureRateThreshold(50)
          .slowCallRateThreshold(50)
          .slowCallDurationThreshold(Duration.ofMillis(100))
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
  /**
   * Default longest time {@link #close()} waits for the store to take the queued invalidations:
   * a few replay retries, short enough for a shutdown grace period.
   */
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(3);
  /**
   * How often the background probe asks an open breaker for a call: its shortest open wait, so a
   * store that is back is found within one wait.
   */
  static final Duration PROBE_INTERVAL = Duration.ofMillis(250);

  private final String name;
  private final CircuitBreaker breaker;
  private final Counters counters = new Counters();
  private final InvalidationLog log;
  private final Guard guard;
  private final Recovery recovery;
  private final int replayBatchSize;
  private final Duration replayRetryInterval;
  private final Duration closeTimeout;
  private final boolean ownsStore;
  private final Scheduler scheduler;
  private final AtomicBoolean replaying = new AtomicBoolean();
  private final Mono<Void> closing;
  private volatile @Nullable Disposable replay;
  private volatile boolean closed;

  private ResilientCacheStore(Builder builder, CircuitBreaker breaker, Duration single,
      Duration bulk) {
    super(builder.store);
    this.name = builder.name;
    this.breaker = breaker;
    this.scheduler = builder.scheduler;
    this.log = new InvalidationLog(builder.maxPendingInvalidations,
        builder.generationSettle.toMillis(), scheduler, counters);
    this.recovery = new Recovery(name, breaker, this::probe, PROBE_INTERVAL, scheduler);
    CallTimer timer = new CallTimer(single.compareTo(bulk) < 0 ? single : bulk,
        single.compareTo(bulk) < 0 ? bulk : single, scheduler);
    this.guard = new Guard(breaker, timer, single, bulk, counters, log,
        new HeldBackException(name), recovery);
    this.replayBatchSize = builder.replayBatchSize;
    this.replayRetryInterval = builder.replayRetryInterval;
    this.closeTimeout = builder.closeTimeout;
    this.ownsStore = builder.ownsStore;
    this.closing = Mono.defer(this::shutDown).cache();
    // A breaker given already open (shared, or forced) is probed from the start.
    recovery.wake();
  }

  /**
   * Wraps {@code store} with the defaults; {@link #close()} closes {@code store} too.
   *
   * <pre>{@code
   * ResilientCacheStore store = ResilientCacheStore.wrap(RedisCacheStore.create(redisClient));
   * }</pre>
   */
  public static ResilientCacheStore wrap(CacheStore store) {
    return builder(store).build();
  }

  /** Wraps {@code store} with the given breaker, other options at their defaults. */
  public static ResilientCacheStore wrap(CacheStore store, CircuitBreaker circuitBreaker) {
    return builder(store).circuitBreaker(circuitBreaker).build();
  }

  /** A builder for a decorator of {@code store}. */
  public static Builder builder(CacheStore store) {
    return new Builder(store);
  }

  /** The name given to the builder: the circuit breaker's and the metrics' {@code store} tag. */
  public String name() {
    return name;
  }

  /** The circuit breaker every call goes through (its state, metrics and events). */
  public CircuitBreaker circuitBreaker() {
    return breaker;
  }

  /** The limit on a call about one key. */
  public Duration timeLimit() {
    return guard.singleLimit();
  }

  /** The limit on a call about many keys. */
  public Duration bulkTimeLimit() {
    return guard.bulkLimit();
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
   * {@link StoreState#DOWN} while the breaker is open (or forced open); {@link
   * StoreState#DEGRADED} while it is half-open, invalidations or a generation bump are owed, or a
   * bump settles; otherwise the wrapped store's state. No I/O, and while nothing is owed no lock:
   * a near cache asks on every read, and bypasses its local tier unless {@code UP}, since
   * invalidations may be held back meanwhile.
   */
  @Override
  public StoreState state() {
    StoreState own = switch (breaker.getState()) {
      case OPEN, FORCED_OPEN -> StoreState.DOWN;
      case HALF_OPEN -> StoreState.DEGRADED;
      default -> log.recovered() ? StoreState.UP : StoreState.DEGRADED;
    };
    StoreState wrapped = super.state();
    return own.compareTo(wrapped) >= 0 ? own : wrapped;
  }

  /**
   * Flushes the queued invalidations (waiting at most {@code closeTimeout} for the store; what is
   * still owed then is logged and counted), stops the background replay and probe, and closes the
   * wrapped store when this decorator owns it ({@link Builder#ownsStore}, the default) and it is
   * {@link AutoCloseable}. Blocks until done: call it when the application stops, or use
   * {@link #closeAsync()} on a non-blocking thread. Calls made after it fail once the wrapped
   * store is closed. Closing again does nothing.
   */
  @Override
  public void close() {
    closeAsync().block();
  }

  /**
   * {@link #close()} without blocking: starts on the first subscription, completes when it is
   * done (every later subscription gets the same outcome), and never errors for what could not be
   * flushed; it errors only if closing the wrapped store failed. A cancel does not stop it.
   */
  public Mono<Void> closeAsync() {
    return closing;
  }

  private Mono<Void> shutDown() {
    closed = true;
    Disposable background = replay;
    if (background != null) {
      background.dispose();
    }
    Mono<Void> flush = log.idle() ? Mono.empty() : replayLoop()
        .timeout(closeTimeout, scheduler)
        .onErrorResume(e -> {
          unflushed(e);
          return Mono.empty();
        });
    return flush
        .then(Mono.fromRunnable(recovery::dispose))
        .then(closeWrapped());
  }

  private void unflushed(Throwable e) {
    int pending = log.pendingCount();
    counters.invalidationsUnflushed.add(pending);
    LOG.warn("cache store '{}' closed while it still owes {} invalidations{} ({}); they are lost",
        name, pending, log.bumpOwed() ? " and a generation bump" : "",
        e instanceof TimeoutException ? "the store did not take them within " + closeTimeout
            : e.toString());
  }

  private Mono<Void> closeWrapped() {
    if (!ownsStore || !(delegate() instanceof AutoCloseable wrapped)) {
      return Mono.empty();
    }
    // AutoCloseable.close() may block (a Redis store closes its connections): not on the
    // caller's thread, which may be an event loop.
    return Mono.<Void>fromRunnable(() -> {
      try {
        wrapped.close();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("closing " + wrapped + " failed", e);
      }
    }).subscribeOn(Schedulers.boundedElastic());
  }

  // ---- reads: held back while their invalidation is owed ----

  @Override
  public Mono<byte[]> get(String key) {
    return guard.read(super.get(key), key);
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    List<String> copy = List.copyOf(keys);
    Mono<Map<String, byte[]>> call = guard.callMany(super.getAll(copy));
    return Mono.defer(() -> log.holdsBackAny(copy) ? heldBack() : call);
  }

  @Override
  public Mono<StoreLookup> getOrLease(String key, Duration leaseTtl) {
    return guard.read(super.getOrLease(key, leaseTtl), key);
  }

  @Override
  public Flux<KeyedLookup> getOrLeaseAll(Collection<String> keys, Duration leaseTtl) {
    List<String> copy = List.copyOf(keys);
    // Collected so that the time limit bounds the whole call, not each element.
    Mono<List<KeyedLookup>> call =
        guard.callMany(super.getOrLeaseAll(copy, leaseTtl).collectList());
    return Mono.defer(() -> log.holdsBackAny(copy) ? this.<List<KeyedLookup>>heldBack() : call)
        .flatMapIterable(lookups -> lookups);
  }

  @Override
  public Mono<String> tryLease(String key, Duration leaseTtl) {
    return guard.call(super.tryLease(key, leaseTtl));
  }

  private <T> Mono<T> heldBack() {
    return Mono.error(guard.heldBack());
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
    Mono<Long> guarded = guard.call(call);
    return Mono.defer(() -> log.awaitsReread(namespace)
        ? guarded.doOnSuccess(v -> log.confirmed(namespace)) : guarded);
  }

  /** A {@code PING} through the breaker: fails at once while it is open. */
  @Override
  public Mono<Void> ping() {
    return guard.call(super.ping());
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

  /**
   * A delete: without a time limit, so that it is queued only on evidence (the store failed it,
   * or the open breaker skipped it), never because a busy moment made it slow; a delete whose
   * caller gives up before the store answered (the core's store timeout) is queued too, since
   * nobody knows whether it arrived, and the caller sees its own timeout.
   */
  private Mono<Void> invalidation(List<String> keys, Mono<Void> call) {
    Mono<Void> guarded = guard.untimed(call);
    return Mono.defer(() -> {
      long issuedAt = log.sequence();
      return guarded
          .doOnSuccess(done -> log.deleted(keys, issuedAt))
          .doOnCancel(() -> owe(keys))
          .onErrorResume(e -> {
            if (!owe(keys)) {
              LOG.error("cache store '{}': delete of {} keys failed and cannot be queued (the queue"
                  + " is full and no cache's generation counter is known): {}", name, keys.size(),
                  e.toString());
              return Mono.error(e);
            }
            return Mono.empty();
          });
    });
  }

  /** Queues {@code keys} (or counts them into a bump) and starts the replay; false if neither. */
  private boolean owe(List<String> keys) {
    if (!log.keep(keys)) {
      return false;
    }
    startReplay();
    return true;
  }

  // ---- the replay ----

  /** Starts the replay unless it runs already; it ends when nothing is owed. */
  private void startReplay() {
    if (closed || !replaying.compareAndSet(false, true)) {
      return;
    }
    replay = replayLoop().subscribe(null,
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

  /** Replays what is owed until nothing is; a step the store fails is tried again later. */
  private Mono<Void> replayLoop() {
    return Mono.defer(this::replayStep)
        .repeat()
        .takeUntil(more -> !more)
        // A step fails while the store is away (time limit, open breaker): wait, then go on.
        .retryWhen(Retry.fixedDelay(Long.MAX_VALUE, replayRetryInterval).scheduler(scheduler))
        .then();
  }

  /** Does one step of what is owed; emits whether there may be more. */
  private Mono<Boolean> replayStep() {
    InvalidationLog.Step step = log.nextStep(replayBatchSize);
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
          // Cut off by close: the bump is owed again, not left running for good.
          .doOnCancel(log::bumpFailed)
          .thenReturn(true);
    }
    InvalidationLog.Replay batch = (InvalidationLog.Replay) step;
    return guard.callMany(super.delete(batch.keys()))
        .then(Mono.fromRunnable(() -> log.deleted(batch.keys(), batch.sequence())))
        .thenReturn(true);
  }

  /** One background probe of the store (see {@link Recovery}). */
  private Mono<Boolean> probe() {
    return guard.probe(super.ping());
  }

  @Override
  public String toString() {
    return "ResilientCacheStore[" + name + ", " + breaker.getState() + ", pending="
        + log.pendingCount() + ", " + delegate() + "]";
  }

  /**
   * Options of a {@link ResilientCacheStore}. Each setter checks its argument at once; options
   * that clash fail in {@link #build()}.
   *
   * @since 0.1
   */
  public static final class Builder {
    private final CacheStore store;
    private String name = DEFAULT_NAME;
    private @Nullable CircuitBreaker circuitBreaker;
    private @Nullable CircuitBreakerConfig circuitBreakerConfig;
    private Duration timeLimit = DEFAULT_TIME_LIMIT;
    private @Nullable Duration bulkTimeLimit;
    private int maxPendingInvalidations = DEFAULT_MAX_PENDING_INVALIDATIONS;
    private int replayBatchSize = DEFAULT_REPLAY_BATCH_SIZE;
    private Duration replayRetryInterval = DEFAULT_REPLAY_RETRY_INTERVAL;
    private Duration generationSettle = DEFAULT_GENERATION_SETTLE;
    private Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
    private boolean ownsStore = true;
    private Scheduler scheduler = Schedulers.parallel();

    private Builder(CacheStore store) {
      this.store = Objects.requireNonNull(store, "store must not be null");
    }

    /**
     * Names the circuit breaker this builder creates, and tags the metrics. Default
     * {@link #DEFAULT_NAME}.
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
     * {@code CircuitBreakerConfig.from(DEFAULT_CIRCUIT_BREAKER_CONFIG)}. Its slow-call threshold
     * decides which calls are slow; keep it under the time limit.
     */
    public Builder circuitBreakerConfig(CircuitBreakerConfig config) {
      this.circuitBreakerConfig = Objects.requireNonNull(config,
          "circuitBreakerConfig must not be null");
      return this;
    }

    /**
     * The limit on each store call about one key. Default {@link #DEFAULT_TIME_LIMIT}; at least
     * 1 ms. A call is cut off between once and 1.25 times the shorter of the two limits after it
     * was sent, counted by a timer that runs late when this JVM lags, and then later still.
     */
    public Builder timeLimit(Duration timeLimit) {
      this.timeLimit = positive(timeLimit, "timeLimit");
      return this;
    }

    /**
     * The limit on each store call about many keys: a bulk window's multi-get, lease script and
     * batched store, and a replayed delete. Such a call legitimately takes longer than a
     * single-key one (hundreds of keys, Lua scripts). Default {@link #DEFAULT_BULK_TIME_LIMIT},
     * or the single-key limit if that is longer; at least 1 ms.
     */
    public Builder bulkTimeLimit(Duration bulkTimeLimit) {
      this.bulkTimeLimit = positive(bulkTimeLimit, "bulkTimeLimit");
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
      this.generationSettle = notNegative(generationSettle, "generationSettle");
      return this;
    }

    /**
     * The longest time {@link ResilientCacheStore#close()} waits for the store to take the
     * queued invalidations before it gives them up (logged, and counted as
     * {@link ResilienceStats#invalidationsUnflushed()}). Default {@link #DEFAULT_CLOSE_TIMEOUT};
     * 0 gives up at once what the store has not taken.
     */
    public Builder closeTimeout(Duration closeTimeout) {
      this.closeTimeout = notNegative(closeTimeout, "closeTimeout");
      return this;
    }

    /**
     * Whether {@link ResilientCacheStore#close()} closes the wrapped store too (when it is
     * {@link AutoCloseable}, as a {@code RedisCacheStore} is). Default {@code true}: in
     * {@code ResilientCacheStore.wrap(RedisCacheStore.create(client))} nothing else holds the
     * Redis store to close it. {@code false} for a store that is shared, or closed by its owner.
     */
    public Builder ownsStore(boolean ownsStore) {
      this.ownsStore = ownsStore;
      return this;
    }

    /**
     * The scheduler of the time limit's timer, the background probe, the replay's retry timer and
     * the settle clock. Default {@link Schedulers#parallel()}; a {@code VirtualTimeScheduler} in
     * tests (give the circuit breaker a clock on the same time, through
     * {@code CircuitBreakerConfig.clock} and {@code currentTimestampFunction}).
     */
    public Builder scheduler(Scheduler scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
      return this;
    }

    /**
     * Builds the decorator.
     *
     * @throws IllegalStateException if both a circuit breaker and its configuration were given
     */
    public ResilientCacheStore build() {
      if (circuitBreaker != null && circuitBreakerConfig != null) {
        throw new IllegalStateException(
            "store '" + name + "': set circuitBreaker(...) or circuitBreakerConfig(...), not both");
      }
      CircuitBreaker breaker = circuitBreaker != null ? circuitBreaker
          : CircuitBreaker.of(name, circuitBreakerConfig != null ? circuitBreakerConfig
              : DEFAULT_CIRCUIT_BREAKER_CONFIG);
      Duration bulk = bulkTimeLimit != null ? bulkTimeLimit
          : timeLimit.compareTo(DEFAULT_BULK_TIME_LIMIT) > 0 ? timeLimit
              : DEFAULT_BULK_TIME_LIMIT;
      return new ResilientCacheStore(this, breaker, timeLimit, bulk);
    }

    private static Duration positive(Duration duration, String what) {
      Objects.requireNonNull(duration, what + " must not be null");
      if (duration.toMillis() < 1) {
        throw new IllegalArgumentException(what + " must be at least 1 ms but was " + duration);
      }
      return duration;
    }

    private static Duration notNegative(Duration duration, String what) {
      Objects.requireNonNull(duration, what + " must not be null");
      if (duration.isNegative()) {
        throw new IllegalArgumentException(what + " must not be negative but was " + duration);
      }
      return duration;
    }
  }
}
