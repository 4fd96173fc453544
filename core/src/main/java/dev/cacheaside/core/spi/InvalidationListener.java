package dev.cacheaside.core.spi;

/**
 * Hears which of a store's entries changed, from a store that can tell
 * ({@link CacheStore#invalidations}): what a near cache needs to drop its local copies of entries
 * another instance deleted, replaced or made unreachable.
 *
 * <p>The stream is reliable only between {@link #restored()} and {@link #lost()}: a listener
 * starts in the lost state and must not trust anything it kept from before a {@code restored()}
 * (messages may have been missed while the stream was down). The store calls these methods on its
 * own threads (Redis: Lettuce's event loop), so they must be quick and must never block; they are
 * never called concurrently with each other for one listener.
 *
 * @since 0.1
 */
public interface InvalidationListener {

  /**
   * The entry at {@code storeKey} was deleted, replaced or its lease state changed: a copy of it
   * read before this call may be out of date.
   */
  void invalidated(String storeKey);

  /**
   * The generation of the cache named {@code namespace} moved on (see
   * {@link CacheStore#bumpGeneration}): every copy of that cache's entries is out of date.
   */
  void namespaceInvalidated(String namespace);

  /**
   * The stream broke (a disconnect, an unsubscribe): from now until {@link #restored()},
   * invalidations may be missed.
   */
  void lost();

  /**
   * The stream is whole again: every change from now on is heard. Called at once on
   * registration when the stream is up.
   */
  void restored();
}
