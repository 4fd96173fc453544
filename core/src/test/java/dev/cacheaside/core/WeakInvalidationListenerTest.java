package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.InvalidationListener;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

/**
 * A near tier is registered with its store weakly: the store, which outlives its caches, must
 * not keep every near tier ever built (and its copies) alive. The collection of the tier is
 * forced deterministically by clearing the reference, not by hoping for a GC.
 */
class WeakInvalidationListenerTest {
  private static final Duration TTL = Duration.ofMinutes(1);

  /** Records what it hears. */
  static final class Recording implements InvalidationListener {
    final List<String> heard = new CopyOnWriteArrayList<>();

    @Override
    public void invalidated(String storeKey) {
      heard.add("invalidated " + storeKey);
    }

    @Override
    public void namespaceInvalidated(String namespace) {
      heard.add("namespace " + namespace);
    }

    @Override
    public void lost() {
      heard.add("lost");
    }

    @Override
    public void restored() {
      heard.add("restored");
    }
  }

  /** Counts the registrations of its delegate that were disposed. */
  static final class CountingRegistrations extends ForwardingCacheStore {
    final AtomicInteger disposed = new AtomicInteger();
    final List<InvalidationListener> registered = new CopyOnWriteArrayList<>();

    CountingRegistrations(CacheStore delegate) {
      super(delegate);
    }

    @Override
    public @Nullable Disposable invalidations(InvalidationListener listener) {
      registered.add(listener);
      Disposable registration = super.invalidations(listener);
      return registration == null ? null : () -> {
        disposed.incrementAndGet();
        registration.dispose();
      };
    }
  }

  private final InMemoryCacheStore memory = InMemoryCacheStore.create();
  private final CountingRegistrations store = new CountingRegistrations(memory);

  @Test
  void whileTheListenerLives_everythingIsPassedOn() {
    Recording listener = new Recording();
    Disposable registration =
        WeakInvalidationListener.register(store, new WeakReference<>(listener));

    memory.delete("k").block(TTL);
    memory.bumpGeneration("products").block(TTL);

    assertThat(registration).isNotNull();
    assertThat(listener.heard).containsExactly("restored", "invalidated k", "namespace products");
    assertThat(store.disposed).hasValue(0);
  }

  @Test
  void onceTheListenerIsCollected_theNextMessageUnregistersIt() {
    Recording listener = new Recording();
    WeakReference<Recording> reference = new WeakReference<>(listener);
    WeakInvalidationListener.register(store, reference);

    reference.clear();
    memory.delete("k").block(TTL);
    memory.delete("k2").block(TTL);

    assertThat(listener.heard).as("nothing after the collection").containsExactly("restored");
    assertThat(store.disposed).as("unregistered once, at the first message").hasValue(1);
  }

  @Test
  void collectedBeforeTheStoreAnsweredTheRegistration_isUnregisteredAtOnce() {
    WeakReference<Recording> reference = new WeakReference<>(new Recording());
    reference.clear();

    // The in-memory store tells "restored" during the registration, before it returns.
    Disposable registration = WeakInvalidationListener.register(store, reference);

    assertThat(registration).isNotNull();
    assertThat(store.disposed).hasValue(1);
  }

  @Test
  void aStoreWithoutAStream_registersNothing() {
    CacheStore silent = new ForwardingCacheStore(memory) {
      @Override
      public @Nullable Disposable invalidations(InvalidationListener listener) {
        return null;
      }
    };
    assertThat(WeakInvalidationListener.register(silent, new Recording())).isNull();
  }

  @Test
  void aNearCache_isRegisteredWeakly_andHearsItsStore() {
    CacheAside<String, String> cache = CacheAside.<String, String>builder("near").store(store)
        .codec(Codec.utf8()).nearCache(NearCache.ofEntries(100)).build();
    assertThat(cache.cacheAside("k", k -> reactor.core.publisher.Mono.just("v")).block(TTL))
        .isEqualTo("v");
    memory.delete(cache.storeKey("k").block(TTL)).block(TTL);
    assertThat(cache.cacheAside("k", k -> reactor.core.publisher.Mono.just("reloaded"))
        .block(TTL)).as("the near copy was dropped").isEqualTo("reloaded");
    assertThat(store.disposed).hasValue(0);
    assertThat(store.registered).as("the store holds the tier only weakly")
        .singleElement().isInstanceOf(WeakInvalidationListener.class);
  }
}
