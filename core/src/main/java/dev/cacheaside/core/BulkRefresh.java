package dev.cacheaside.core;

import dev.cacheaside.core.BulkLoads.Load;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Early refresh of a bulk window's fresh hits that are due, in the background: their leases,
 * then the leased keys in one bulk load (chunked as misses are), stored under their leases by the
 * misses' code ({@link BulkLoads}). The {@link BackgroundRefresher} decides which keys are due and
 * runs this; it knows nothing of windows.
 */
final class BulkRefresh {
  private BulkRefresh() {}

  /**
   * Refreshes {@code storeKeys}, all among {@code hits}. New slots, since the hits' slots hold the
   * callers' answers. A key whose lease is taken, or whose {@code tryLease} fails, is not
   * refreshed: loading what cannot be stored would only load the database. Reports every key once.
   */
  static <K, V> Flux<BackgroundRefresher.KeyResult<V>> refreshDue(Services<K, V> services,
      BulkLoads<K, V> loads, List<String> storeKeys, List<BulkSlot<K, V>> hits) {
    Map<String, K> keyOf = new LinkedHashMap<>(hits.size() * 2);
    hits.forEach(hit -> keyOf.put(hit.storeKey, hit.key));
    List<BulkSlot<K, V>> slots = new ArrayList<>(storeKeys.size());
    storeKeys.forEach(storeKey -> slots.add(new BulkSlot<>(keyOf.get(storeKey), storeKey)));
    Mono<List<Optional<Load<K, V>>>> plans;
    if (services.settings().leases()) {
      plans = Flux.fromIterable(slots)
          .flatMapSequential(slot -> services.calls().tryLease(slot.storeKey)
              .map(lease -> Optional.ofNullable(lease.token())
                  .map(token -> new Load<>(slot, LoadPlan.<V>leased(token)))), slots.size())
          .collectList();
    } else {
      List<Optional<Load<K, V>>> unleased = new ArrayList<>(slots.size());
      slots.forEach(slot -> unleased.add(Optional.of(new Load<>(slot, LoadPlan.unleased()))));
      plans = Mono.just(unleased);
    }
    return plans.flatMapMany(planned -> {
      List<BackgroundRefresher.KeyResult<V>> skipped = new ArrayList<>();
      List<Load<K, V>> granted = new ArrayList<>(planned.size());
      for (int i = 0; i < planned.size(); i++) {
        Optional<Load<K, V>> load = planned.get(i);
        if (load.isPresent()) {
          granted.add(load.get());
        } else {
          skipped.add(new BackgroundRefresher.KeyResult<>(slots.get(i).storeKey, null, null));
        }
      }
      return Flux.concat(Flux.fromIterable(skipped), loads.load(granted)
          .flatMapIterable(batch -> batch)
          .map(slot -> new BackgroundRefresher.KeyResult<>(slot.storeKey, slot.outcome,
              slot.error)));
    });
  }

  /**
   * A window's stale (and expired) keys: whoever wins {@code tryLease} refreshes (served stale
   * only if its load fails); a key leased elsewhere is served stale at once, or, past its grace,
   * loaded without storing; a failing store refreshes without storing.
   */
  static <K, V> Flux<List<BulkSlot<K, V>>> refreshStale(Services<K, V> services,
      BulkLoads<K, V> loads, List<BulkSlot<K, V>> stale) {
    if (stale.isEmpty()) {
      return Flux.empty();
    }
    if (!services.settings().leases()) {
      List<Load<K, V>> unleased = new ArrayList<>(stale.size());
      stale.forEach(slot -> unleased.add(new Load<>(slot, LoadPlan.unleased())));
      return loads.load(unleased);
    }
    return Flux.fromIterable(stale)
        .flatMapSequential(slot -> services.calls().tryLease(slot.storeKey), stale.size())
        .collectList()
        .flatMapMany(tries -> {
          List<BulkSlot<K, V>> served = new ArrayList<>();
          List<Load<K, V>> refreshing = new ArrayList<>(tries.size());
          for (int i = 0; i < tries.size(); i++) {
            StoreCalls.LeaseTry lease = tries.get(i);
            BulkSlot<K, V> slot = stale.get(i);
            Outcome<V> staleValue = slot.stale;
            if (lease.token() == null && !lease.failed() && staleValue != null) {
              served.add(slot.answer(staleValue));
            } else {
              refreshing.add(new Load<>(slot, LoadPlan.of(true, lease.token())));
            }
          }
          Flux<List<BulkSlot<K, V>>> loaded = loads.load(refreshing);
          return served.isEmpty() ? loaded : Flux.merge(Flux.just(served), loaded);
        });
  }
}
