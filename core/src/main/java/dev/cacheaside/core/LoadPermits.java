package dev.cacheaside.core;

import java.util.ArrayDeque;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * At most {@code max} calls in flight; the others wait their turn, first come first served,
 * without a thread waiting. A warm caps its database queries with one.
 *
 * <p>Every call holds a ticket from subscription to its end (value, error or cancel, by
 * {@code doFinally}, exactly once). An ending ticket that held a permit hands it to the first
 * waiting ticket instead of giving it back, so a permit is never free while a ticket waits; one
 * cancelled while it waits leaves the queue. Both happen under the lock, so a ticket granted at the
 * moment it is cancelled passes its permit on.
 */
final class LoadPermits {
  private final int max;
  private int inUse; // guarded by this
  private final ArrayDeque<Ticket> waiting = new ArrayDeque<>(); // guarded by this
  /** Granted, not yet told: woken in order by the one thread that is waking tickets. */
  private final ArrayDeque<Ticket> granted = new ArrayDeque<>(); // guarded by this
  private boolean waking; // guarded by this

  private static final class Ticket {
    final Sinks.Empty<Void> turn = Sinks.empty();
    boolean granted; // guarded by LoadPermits.this
    boolean done; // guarded by LoadPermits.this
  }

  LoadPermits(int max) {
    Arguments.positive(max, "max");
    this.max = max;
  }

  /** {@code call}, subscribed to once a permit is free; the permit is held until it ends. */
  <T> Mono<T> run(Supplier<? extends Mono<T>> call) {
    return Mono.defer(() -> {
      Ticket ticket = new Ticket();
      boolean now;
      synchronized (this) {
        now = inUse < max;
        if (now) {
          inUse++;
          ticket.granted = true;
        } else {
          waiting.add(ticket);
        }
      }
      Mono<T> body = Mono.defer(call);
      return (now ? body : ticket.turn.asMono().then(body)).doFinally(signal -> done(ticket));
    });
  }

  private void done(Ticket ticket) {
    synchronized (this) {
      if (ticket.done) {
        return;
      }
      ticket.done = true;
      if (!ticket.granted) {
        waiting.remove(ticket);
        return;
      }
      Ticket next = waiting.poll();
      if (next == null) {
        inUse--;
        return;
      }
      next.granted = true;
      granted.add(next);
      if (waking) {
        return; // the thread waking tickets (perhaps this one, further up its stack) wakes it
      }
      waking = true;
    }
    // A loop, not a call per ticket: a woken call that ends at once (a synchronous loader) ends
    // its ticket inside tryEmitEmpty, and waking the next from there would recurse once per
    // queued call, to a StackOverflowError behind a long queue.
    for (;;) {
      Ticket next;
      synchronized (this) {
        next = granted.poll();
        if (next == null) {
          waking = false;
          return;
        }
      }
      next.turn.tryEmitEmpty();
    }
  }

  /** Permits in use now (for tests). */
  synchronized int inUse() {
    return inUse;
  }
}
