package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.InvalidationListener;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;

/**
 * Registers a near cache's local tier with its store without the store keeping the tier alive.
 *
 * <p>Why: a store usually outlives the caches built on it (one Redis store shared by every cache
 * of an application, or by caches made per tenant), and {@link CacheAside} has no close. Held
 * strongly in the store's listener list, every near tier ever built, with up to its whole bound
 * of copies, would stay in memory as long as the store. Held weakly, a tier lives as long as its
 * cache does (the cache holds it strongly), and the first message after the tier was collected
 * unregisters this listener.
 */
final class WeakInvalidationListener implements InvalidationListener {
  private final Reference<? extends InvalidationListener> target;
  private volatile @Nullable Disposable registration;
  private volatile boolean gone;

  private WeakInvalidationListener(Reference<? extends InvalidationListener> target) {
    this.target = target;
  }

  /**
   * Registers {@code listener}, weakly held, with {@code store}.
   *
   * @return what unregisters it, or null when the store has no invalidation stream
   */
  static @Nullable Disposable register(CacheStore store, InvalidationListener listener) {
    return register(store, new WeakReference<>(listener));
  }

  /** {@link #register(CacheStore, InvalidationListener)} with the reference given (tests). */
  static @Nullable Disposable register(CacheStore store,
      Reference<? extends InvalidationListener> target) {
    WeakInvalidationListener weak = new WeakInvalidationListener(target);
    Disposable registration = store.invalidations(weak);
    if (registration == null) {
      return null;
    }
    weak.registration = registration;
    // Collected while the store was registering it (and already told it something).
    if (weak.gone) {
      registration.dispose();
    }
    return registration;
  }

  /** The listener, or null once it was collected, after unregistering this one. */
  private @Nullable InvalidationListener target() {
    InvalidationListener listener = target.get();
    if (listener == null) {
      gone = true;
      Disposable registered = registration;
      if (registered != null) {
        registered.dispose();
      }
    }
    return listener;
  }

  @Override
  public void invalidated(String storeKey) {
    InvalidationListener listener = target();
    if (listener != null) {
      listener.invalidated(storeKey);
    }
  }

  @Override
  public void namespaceInvalidated(String namespace) {
    InvalidationListener listener = target();
    if (listener != null) {
      listener.namespaceInvalidated(namespace);
    }
  }

  @Override
  public void lost() {
    InvalidationListener listener = target();
    if (listener != null) {
      listener.lost();
    }
  }

  @Override
  public void restored() {
    InvalidationListener listener = target();
    if (listener != null) {
      listener.restored();
    }
  }
}
