package dev.cacheaside.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/** {@link LoadPermits} under calls that complete synchronously, many queued behind one permit. */
class LoadPermitsAttacksTest {

  @Test
  void manySynchronousCallsQueuedBehindOnePermit_allRun_noDeepRecursion() {
    LoadPermits permits = new LoadPermits(1);
    Sinks.Empty<Void> first = Sinks.empty();
    int queued = 50_000;
    List<Mono<Integer>> calls = new ArrayList<>();
    calls.add(permits.run(() -> first.asMono().thenReturn(-1)));
    for (int i = 0; i < queued; i++) {
      int n = i;
      calls.add(permits.run(() -> Mono.just(n)));
    }
    Mono<Long> all = Flux.merge(Flux.fromIterable(calls), calls.size()).count().cache();
    all.subscribe();
    assertThat(permits.inUse()).isEqualTo(1);

    first.tryEmitEmpty(); // each queued call then runs and ends at once, handing the permit on

    assertThat(all.block(Duration.ofSeconds(30))).isEqualTo(queued + 1L);
    assertThat(permits.inUse()).isZero();
  }
}
