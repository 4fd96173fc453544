package dev.cacheaside.core;

import org.jspecify.annotations.Nullable;

/**
 * The shared services of one cache, made once and handed to both read paths: the floors below
 * the readers (see ARCHITECTURE.md). Each is built from the settings and the services below it
 * only, so none calls up into a reader or the façade.
 *
 * @param clock the store's clock as this instance estimates it: entries are stamped and judged
 *     by it ({@link StoreClock}); the settings' clock is this JVM's own
 * @param near the near cache's local tier, null without one; {@code settings.store()} is then
 *     the {@link NearStore} in front of the given store
 */
record Services<K, V>(
    CacheSettings<K, V> settings,
    StoreClock clock,
    StatsCounter stats,
    Namespace<K> namespace,
    Entries<V> entries,
    StoreCalls calls,
    Loads<V> loads,
    Flights<V> flights,
    StoreDeadline deadline,
    LeaseWaiter waiter,
    BackgroundRefresher<K, V> refresher,
    @Nullable NearTier near) {

  static <K, V> Services<K, V> of(CacheSettings<K, V> given) {
    StoreClock clock = new StoreClock(given.clock());
    StatsCounter stats = new StatsCounter();
    NearCache options = given.nearCache();
    NearTier near = options == null ? null : new NearTier(given.name(),
        Namespace.escape(given.name()) + ":", options, clock, stats);
    if (near != null && WeakInvalidationListener.register(given.store(), near) == null) {
      throw new IllegalStateException("cache '" + given.name() + "': a near cache needs a store "
          + "that announces its changes (CacheStore.invalidations); " + given.store()
          + " does not");
    }
    // With a near cache every part of the engine sees the store through it; without one the
    // store itself, so that cache's hit path is unchanged.
    CacheSettings<K, V> settings = near == null ? given
        : given.withStore(new NearStore(given.store(), near));
    StoreErrorLog errors = new StoreErrorLog(settings.name(), settings.scheduler(), stats);
    Entries<V> entries = new Entries<>(settings, clock, stats);
    StoreCalls calls = new StoreCalls(settings, stats, errors);
    Loads<V> loads = new Loads<>(settings, clock, entries, calls, stats);
    Flights<V> flights = new Flights<>(stats);
    return new Services<>(settings, clock, stats, new Namespace<>(settings, clock, errors),
        entries, calls, loads, flights,
        new StoreDeadline(settings.storeTimeout(), settings.scheduler(), flights::waiting),
        new LeaseWaiter(settings, stats),
        new BackgroundRefresher<>(settings, clock, stats, calls, loads), near);
  }
}
