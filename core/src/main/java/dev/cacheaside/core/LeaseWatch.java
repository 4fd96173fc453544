package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.util.context.Context;

/**
 * Watches for the end of the leases on some keys ({@link CacheStore#leaseEnded}), from the moment
 * it is made. A waiter makes one before each look again (the second and later looks of a wait),
 * so that a holder that stores while the look is still on its way is not missed: the
 * announcement is kept and {@link #ended} completes at once. Watching only after a "contended"
 * answer would lose announcements made in that round trip, and the waiter would sleep a whole
 * backoff step. The first look of a wait is the miss's own lookup; it is watched from its answer
 * only, since most misses are not contended and should not pay for a watch.
 *
 * <p>The store's word is a hint: an error, or a store that throws instead of signalling, counts
 * as "not yet", and so does a failing cancel. {@link #dispose} ends every subscription; it is
 * idempotent and may race with an announcement.
 */
final class LeaseWatch implements Disposable {
  private final Map<String, Sinks.Empty<Void>> ended;
  private final Disposable[] subscriptions;
  private volatile boolean disposed;

  LeaseWatch(CacheStore store, List<String> storeKeys) {
    ended = new HashMap<>(storeKeys.size() * 2);
    subscriptions = new Disposable[storeKeys.size()];
    for (int i = 0; i < subscriptions.length; i++) {
      String storeKey = storeKeys.get(i);
      // Sinks.empty() replays its completion, so a wait that starts after the announcement
      // still sees it.
      Sinks.Empty<Void> sink = Sinks.empty();
      ended.put(storeKey, sink);
      subscriptions[i] = Mono.defer(() -> store.leaseEnded(storeKey))
          .onErrorResume(e -> Mono.never())
          .subscribe(null, null, sink::tryEmitEmpty);
    }
  }

  /**
   * Completes when the leases on all of {@code storeKeys} (each one watched) were announced to
   * have ended, since this watch was made.
   */
  Mono<Void> ended(List<String> storeKeys) {
    if (storeKeys.size() == 1) {
      return watched(storeKeys.get(0));
    }
    Mono<?>[] each = new Mono<?>[storeKeys.size()];
    for (int i = 0; i < each.length; i++) {
      each[i] = watched(storeKeys.get(i));
    }
    return Mono.when(each);
  }

  private Mono<Void> watched(String storeKey) {
    Sinks.Empty<Void> sink = ended.get(storeKey);
    if (sink == null) {
      throw new IllegalArgumentException(storeKey + " is not watched");
    }
    return sink.asMono();
  }

  @Override
  public void dispose() {
    disposed = true;
    for (Disposable subscription : subscriptions) {
      // A store whose cancel throws must neither keep the other keys watched nor fail the read.
      try {
        subscription.dispose();
      } catch (RuntimeException e) {
        Operators.onErrorDropped(e, Context.empty());
      }
    }
  }

  @Override
  public boolean isDisposed() {
    return disposed;
  }
}
