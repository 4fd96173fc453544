package dev.cacheaside.examples.boot;

import reactor.core.publisher.Mono;

/**
 * Runs inside an update's transaction, after its UPDATE and before its commit. Nothing by
 * default; the tests put a latch here to force a read between the write and the commit.
 */
@FunctionalInterface
public interface WriteHook {
  /** Completes when the transaction may go on to commit. */
  Mono<Void> beforeCommit(long id);
}
