package dev.cacheaside.resilience;

/**
 * An immutable snapshot of a {@link ResilientCacheStore}'s counters since it was built.
 *
 * @param timeouts store calls cut off at the time limit (the caller saw a miss or a failed
 *     write; the core went on to the loader)
 * @param skippedCalls store calls not made because the circuit breaker was open (or half-open
 *     with its probes taken)
 * @param heldBackReads reads not made because the key's invalidation was still waiting to be
 *     replayed, or a generation bump was still settling, after an outage
 * @param failedCalls store calls that failed with an error of the store
 * @param slowCallsExcused calls slower than the breaker's slow-call threshold that were not held
 *     against the store because this JVM itself lagged while they ran (a GC pause, its threads
 *     starved of CPU)
 * @param invalidationsQueued keys whose delete failed, was skipped or was given up by its caller,
 *     and was queued for replay
 * @param invalidationsReplayed queued keys deleted once the store answered again
 * @param invalidationsOverflowed keys not kept individually because the queue was full; a
 *     generation bump covered them instead
 * @param invalidationsLost keys whose delete failed and could be neither queued nor covered (no
 *     cache's generation counter was known); the caller saw the error
 * @param invalidationsUnflushed keys still queued when {@link ResilientCacheStore#close()} gave
 *     up flushing them (the store did not answer within the close timeout); they were logged
 * @param generationBumps generation counters incremented after an overflow
 *
 * @since 0.1
 */
public record ResilienceStats(
    long timeouts,
    long skippedCalls,
    long heldBackReads,
    long failedCalls,
    long slowCallsExcused,
    long invalidationsQueued,
    long invalidationsReplayed,
    long invalidationsOverflowed,
    long invalidationsLost,
    long invalidationsUnflushed,
    long generationBumps) {}
