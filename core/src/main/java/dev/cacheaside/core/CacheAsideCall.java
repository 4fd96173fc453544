package dev.cacheaside.core;

import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;

/**
 * One {@code cacheAside(key, loader)} call: each subscription is a read of its own. It subscribes
 * straight to the read ({@link SingleRead}, a {@link ReadFlight} on the hit path) and maps the
 * outcome to the value itself, instead of through {@code defer} and {@code handle}, because on
 * the hit path every operator layer shows.
 */
final class CacheAsideCall<K, V> extends Mono<V> {
  private final SingleRead<K, V> reads;
  private final StatsCounter stats;
  private final K key;
  private final String entryKey;
  private final Function<? super K, ? extends Mono<V>> loader;

  CacheAsideCall(SingleRead<K, V> reads, StatsCounter stats, K key, String entryKey,
      Function<? super K, ? extends Mono<V>> loader) {
    this.reads = reads;
    this.stats = stats;
    this.key = key;
    this.entryKey = entryKey;
    this.loader = loader;
  }

  /** This call as the assembly hooks (debug tracebacks, if installed) want it. */
  Mono<V> assembled() {
    return onAssembly(this);
  }

  @Override
  public void subscribe(CoreSubscriber<? super V> actual) {
    Mono<Outcome<V>> outcome;
    try {
      outcome = reads.read(key, entryKey, loader);
    } catch (Throwable e) {
      Operators.error(actual, Operators.onOperatorError(e, actual.currentContext()));
      return;
    }
    outcome.subscribe(new ValueOf<>(actual, stats));
  }

  /** Counts a read's outcome for its caller and emits the value ("not found" completes empty). */
  private static final class ValueOf<V> extends Operators.MonoSubscriber<Outcome<V>, V> {
    private final StatsCounter stats;
    @SuppressWarnings("NotNullFieldNotInitialized")
    private Subscription upstream;
    private @Nullable Outcome<V> outcome;

    ValueOf(CoreSubscriber<? super V> actual, StatsCounter stats) {
      super(actual);
      this.stats = stats;
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (Operators.validate(upstream, s)) {
        upstream = s;
        actual.onSubscribe(this);
        s.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(Outcome<V> o) {
      outcome = o;
    }

    @Override
    public void onComplete() {
      Outcome<V> o = outcome;
      if (o == null) {
        actual.onComplete();
        return;
      }
      stats.count(o);
      V value = o.value();
      if (value != null) {
        complete(value);
      } else {
        actual.onComplete();
      }
    }

    @Override
    public void cancel() {
      super.cancel();
      upstream.cancel();
    }
  }
}
