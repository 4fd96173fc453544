package dev.cacheaside.core;

/**
 * The shared services of one cache, made once and handed to both read paths: the floors below
 * the readers (see ARCHITECTURE.md). Each is built from the settings and the services below it
 * only, so none calls up into a reader or the façade.
 *
 * @param clock the store's clock as this instance estimates it: entries are stamped and judged
 *     by it ({@link StoreClock}); the settings' clock is this JVM's own
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
    BackgroundRefresher<K, V> refresher) {

  static <K, V> Services<K, V> of(CacheSettings<K, V> settings) {
    StoreClock clock = new StoreClock(settings.clock());
    StatsCounter stats = new StatsCounter();
    StoreErrorLog errors = new StoreErrorLog(settings.name(), settings.scheduler(), stats);
    Entries<V> entries = new Entries<>(settings, clock, stats);
    StoreCalls calls = new StoreCalls(settings, stats, errors);
    Loads<V> loads = new Loads<>(settings, clock, entries, calls, stats);
    Flights<V> flights = new Flights<>(stats);
    return new Services<>(settings, clock, stats, new Namespace<>(settings, clock, errors),
        entries, calls, loads, flights,
        new StoreDeadline(settings.storeTimeout(), settings.scheduler(), flights::waiting),
        new LeaseWaiter(settings, stats),
        new BackgroundRefresher<>(settings, clock, stats, calls, loads));
  }
}
