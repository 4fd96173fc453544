package dev.cacheaside.core;

import org.jspecify.annotations.Nullable;

/**
 * What becomes of a load's result, decided by the read before it loads: stored under a lease,
 * stored unconditionally (leases off), or only served; and whether a stale value is at hand to
 * serve if the load fails (stale-if-error).
 *
 * @param storing how the result is stored
 * @param token the lease token when {@code storing} is {@link Storing#LEASED}, else null
 * @param stale the outcome to serve if the load fails, or null to fail the read
 */
record LoadPlan<V>(Storing storing, @Nullable String token, @Nullable Outcome<V> stale) {

  /** How a loaded result is stored. */
  enum Storing {
    /** Under the lease {@code token}, with compare-and-set: refused if it was invalidated. */
    LEASED,
    /** Unconditionally: leases are off. */
    UNLEASED,
    /** Not at all: the read could not get a lease (waited too long, store failed, corrupt). */
    NONE
  }

  /** Store under {@code token}. */
  static <V> LoadPlan<V> leased(String token) {
    return new LoadPlan<>(Storing.LEASED, token, null);
  }

  /** Store without a lease (leases are off). */
  static <V> LoadPlan<V> unleased() {
    return new LoadPlan<>(Storing.UNLEASED, null, null);
  }

  /** Serve the result, store nothing. */
  static <V> LoadPlan<V> uncached() {
    return new LoadPlan<>(Storing.NONE, null, null);
  }

  /** The plan for a lease try: under its token, or unleased without leases, else uncached. */
  static <V> LoadPlan<V> of(boolean leases, @Nullable String token) {
    return token != null ? leased(token) : leases ? uncached() : unleased();
  }

  /** This plan, serving {@code staleOutcome} if the load fails. */
  LoadPlan<V> orStale(@Nullable Outcome<V> staleOutcome) {
    return new LoadPlan<>(storing, token, staleOutcome);
  }

  /** Whether the result is to be stored at all. */
  boolean stores() {
    return storing != Storing.NONE;
  }
}
