package dev.cacheaside.core;

/**
 * The shared services of one cache, made once and handed to both read paths: the floors below
 * the readers (see ARCHITECTURE.md). Each is built from the settings and the services below it
 * only, so none calls up into a reader or the façade.
 */
record Services<K, V>(
    CacheSettings<K, V> settings,
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
    StatsCounter stats = new StatsCounter();
    StoreErrorLog errors = new StoreErrorLog(settings.name(), settings.scheduler(), stats);
    Entries<V> entries = new Entries<>(settings, stats);
    StoreCalls calls = new StoreCalls(settings, stats, errors);
    Loads<V> loads = new Loads<>(settings, entries, calls, stats);
    Flights<V> flights = new Flights<>(stats);
    return new Services<>(settings, stats, new Namespace<>(settings, errors), entries, calls, loads,
        flights, new StoreDeadline(settings.storeTimeout(), settings.scheduler(), flights::waiting),
        new LeaseWaiter(settings, stats),
        new BackgroundRefresher<>(settings, stats, calls, loads));
  }
}
