package dev.cacheaside.core;

/**
 * What becomes of a read in flight when every caller waiting for it has cancelled (a client
 * disconnected, a {@code timeout} upstream fired, a {@code zip} partner failed). Concurrent
 * callers of a key share one read, so a read is abandoned only when the last of them leaves.
 * Set with {@link CacheAsideBuilder#abandonedReads}.
 *
 * @since 0.1
 */
public enum AbandonedReads {
  /**
   * The read goes on to the end: its load runs, its result is cached, and its lease is used. No
   * work is shed when callers give up.
   */
  FINISH,
  /**
   * The read stops whatever it is waiting for (another caller's lease, a permit of a
   * {@link LoadDecorator} such as a bulkhead, the store), so nothing still queued reaches the
   * database and its lease is given back; but a load whose loader was already called runs to the
   * end and its result is cached, so a slow database still makes progress when every caller is
   * more impatient than it.
   */
  CANCEL_UNSTARTED,
  /**
   * The read is cancelled wherever it is, the loader's {@code Mono} included (an R2DBC query is
   * cancelled), and its lease is given back.
   */
  CANCEL
}
