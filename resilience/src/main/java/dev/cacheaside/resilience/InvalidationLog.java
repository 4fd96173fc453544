package dev.cacheaside.resilience;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;

/**
 * What a {@link ResilientCacheStore} still owes the cache after an outage: the keys whose delete
 * did not reach it (each with the sequence number of its latest failure), or, once more than
 * {@code capacity} were owed, a bump of every generation counter seen; and after a bump, which
 * counters this instance has not yet re-read.
 *
 * <p>Every change happens under this object's monitor, a few map operations and never I/O, so
 * Reactor threads hold it for microseconds. A read asks {@link #holdsBack} first; while nothing is
 * owed that is one volatile read.
 */
final class InvalidationLog {
  private final int capacity;
  private final long settleMillis;
  private final Scheduler clock;
  private final Counters counters;
  /** Namespaces whose generation was read or bumped through the store: the caches a bump covers. */
  private final Set<String> namespaces = ConcurrentHashMap.newKeySet();

  private final LinkedHashMap<String, Long> pending = new LinkedHashMap<>();
  /** Written under the monitor; read without it by {@link #sequence()}. */
  private volatile long sequence;
  private boolean bumpOwed;
  private boolean bumping;
  /** Counters bumped whose new value this instance's caches may not have read yet. */
  private final Set<String> unconfirmed = new HashSet<>();
  private long settleUntil;
  /** Nothing owed, nothing settling: the read path's fast check. */
  private volatile boolean clean = true;

  InvalidationLog(int capacity, long settleMillis, Scheduler clock, Counters counters) {
    this.capacity = capacity;
    this.settleMillis = settleMillis;
    this.clock = clock;
    this.counters = counters;
  }

  /** One step of the replay: a bump of these counters, or deletes of these keys. */
  sealed interface Step {}

  /** Bump the generation of every cache in {@code namespaces}. */
  record Bump(List<String> namespaces) implements Step {}

  /** Delete {@code keys}; each was owed at or before {@code sequence}. */
  record Replay(List<String> keys, long sequence) implements Step {}

  /** A cache whose generation went through the store: a bump will cover it. */
  void sawNamespace(String namespace) {
    namespaces.add(namespace);
  }

  /** The sequence number of the latest failure; a delete issued now covers every one up to it. */
  long sequence() {
    return sequence;
  }

  /**
   * Whether a read of {@code key} must not reach the store yet: its invalidation is owed, or a
   * bump is owed, running or settling (any entry may then be one whose invalidation was lost).
   */
  boolean holdsBack(String key) {
    if (clean) {
      return false;
    }
    synchronized (this) {
      return bumpOwed || bumping || settling() || pending.containsKey(key);
    }
  }

  /** {@link #holdsBack} for any of {@code keys}. */
  boolean holdsBackAny(Collection<String> keys) {
    if (clean) {
      return false;
    }
    synchronized (this) {
      if (bumpOwed || bumping || settling()) {
        return true;
      }
      for (String key : keys) {
        if (pending.containsKey(key)) {
          return true;
        }
      }
      return false;
    }
  }

  private boolean settling() {
    if (unconfirmed.isEmpty()) {
      return false;
    }
    if (clock.now(TimeUnit.MILLISECONDS) < settleUntil) {
      return true;
    }
    // Counters nobody re-read within the settle time belong to idle caches; stop waiting.
    unconfirmed.clear();
    updateClean();
    return false;
  }

  /**
   * Takes over the invalidation of {@code keys}, whose delete failed.
   *
   * @return {@code true} when they are kept (queued, or covered by a bump that has not started
   *     yet); {@code false} when they can be neither: the queue is full and no generation counter
   *     is known
   */
  synchronized boolean keep(Collection<String> keys) {
    if (bumpOwed) {
      // The bump starts after this moment, so it covers these keys too.
      counters.invalidationsOverflowed.add(keys.size());
      return true;
    }
    int fresh = 0;
    for (String key : keys) {
      if (!pending.containsKey(key)) {
        fresh++;
      }
    }
    if (pending.size() + fresh > capacity) {
      if (namespaces.isEmpty()) {
        counters.invalidationsLost.add(keys.size());
        return false;
      }
      counters.invalidationsOverflowed.add(pending.size() + fresh);
      pending.clear();
      bumpOwed = true;
      clean = false;
      return true;
    }
    long owedAt = sequence + 1;
    sequence = owedAt;
    for (String key : keys) {
      // Re-inserted at the end with the new sequence: only a delete issued after now clears it.
      pending.remove(key);
      pending.put(key, owedAt);
    }
    counters.invalidationsQueued.add(fresh);
    clean = false;
    return true;
  }

  /**
   * Clears {@code keys} whose latest failure is at or before {@code issuedAt}: a delete issued
   * after that succeeded, so the store no longer holds what they invalidate.
   */
  void deleted(Collection<String> keys, long issuedAt) {
    if (clean) {
      return;
    }
    synchronized (this) {
      int cleared = 0;
      for (String key : keys) {
        Long owedAt = pending.get(key);
        if (owedAt != null && owedAt <= issuedAt) {
          pending.remove(key);
          cleared++;
        }
      }
      counters.invalidationsReplayed.add(cleared);
      updateClean();
    }
  }

  /** The next thing the replay must do, or null when nothing is owed. */
  synchronized @Nullable Step nextStep(int batchSize) {
    if (bumpOwed) {
      bumpOwed = false;
      bumping = true;
      return new Bump(List.copyOf(namespaces));
    }
    if (!pending.isEmpty()) {
      List<String> batch = new ArrayList<>(Math.min(batchSize, pending.size()));
      for (String key : pending.keySet()) {
        if (batch.size() == batchSize) {
          break;
        }
        batch.add(key);
      }
      return new Replay(batch, sequence);
    }
    updateClean();
    return null;
  }

  synchronized void bumped(List<String> keys) {
    bumping = false;
    unconfirmed.addAll(keys);
    settleUntil = clock.now(TimeUnit.MILLISECONDS) + settleMillis;
    counters.generationBumps.add(keys.size());
    updateClean();
  }

  synchronized void bumpFailed() {
    bumping = false;
    bumpOwed = true;
  }

  /** Whether {@code namespace} was bumped and not yet re-read: a read starting now confirms it. */
  boolean awaitsReread(String namespace) {
    if (clean) {
      return false;
    }
    synchronized (this) {
      return unconfirmed.contains(namespace);
    }
  }

  /** A generation read or bump of {@code namespace} that began after its bump succeeded. */
  synchronized void confirmed(String namespace) {
    if (unconfirmed.remove(namespace)) {
      updateClean();
    }
  }

  /** Whether the replay has nothing left to do (a bump may still be settling). */
  synchronized boolean idle() {
    return pending.isEmpty() && !bumpOwed && !bumping;
  }

  /** Whether a generation bump is owed or running. */
  synchronized boolean bumpOwed() {
    return bumpOwed || bumping;
  }

  /** Whether nothing is owed and nothing is settling. */
  boolean recovered() {
    // One volatile read while nothing is owed: a near cache asks through state() on every read.
    if (clean) {
      return true;
    }
    synchronized (this) {
      return idle() && !settling();
    }
  }

  synchronized int pendingCount() {
    return pending.size();
  }

  private void updateClean() {
    clean = pending.isEmpty() && !bumpOwed && !bumping && unconfirmed.isEmpty();
  }
}
