package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/** {@link LoadPermits}: the cap, the queue's order, and cancellation while waiting or running. */
class LoadPermitsTest {
  private final LoadPermits permits = new LoadPermits(2);
  private final AtomicInteger started = new AtomicInteger();
  private final List<Sinks.One<String>> calls = new ArrayList<>();

  private Mono<String> call() {
    return permits.run(() -> {
      started.incrementAndGet();
      Sinks.One<String> call = Sinks.one();
      calls.add(call);
      return call.asMono();
    });
  }

  @Test
  void third_waits_untilOneEnds_thenRunsInOrder() {
    List<String> results = new ArrayList<>();
    call().subscribe(results::add);
    call().subscribe(results::add);
    call().subscribe(results::add);
    assertThat(started).as("two permits").hasValue(2);

    calls.get(0).tryEmitValue("a");

    assertThat(started).as("the permit passed to the waiting call").hasValue(3);
    assertThat(permits.inUse()).isEqualTo(2);
    calls.get(1).tryEmitValue("b");
    calls.get(2).tryEmitValue("c");
    assertThat(results).containsExactly("a", "b", "c");
    assertThat(permits.inUse()).isZero();
  }

  @Test
  void cancelWhileWaiting_leavesTheQueue_andTakesNoPermit() {
    call().subscribe();
    call().subscribe();
    Disposable waiting = call().subscribe();

    waiting.dispose();
    calls.get(0).tryEmitValue("a");

    assertThat(started).as("the cancelled call never ran").hasValue(2);
    assertThat(permits.inUse()).isEqualTo(1);
  }

  @Test
  void cancelWhileRunning_givesThePermitToTheNext() {
    Disposable running = call().subscribe();
    call().subscribe();
    call().subscribe();

    running.dispose();

    assertThat(started).hasValue(3);
    assertThat(permits.inUse()).isEqualTo(2);
  }

  @Test
  void errorOrEmpty_releaseToo() {
    permits.run(() -> Mono.error(new IllegalStateException("no"))).subscribe(v -> { }, e -> { });
    permits.run(Mono::<String>empty).subscribe();
    permits.run(() -> {
      throw new IllegalStateException("thrown, not returned");
    }).subscribe(v -> { }, e -> { });

    assertThat(permits.inUse()).isZero();
  }
}
