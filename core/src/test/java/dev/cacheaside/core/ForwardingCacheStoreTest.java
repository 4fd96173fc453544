package dev.cacheaside.core;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import dev.cacheaside.core.spi.InMemoryCacheStore;
import dev.cacheaside.core.spi.StoreLookup;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cacheaside.core.spi.CacheStore.LeasedEntry;
import dev.cacheaside.core.spi.CacheStore.StoreEntry;
import dev.cacheaside.core.spi.ForwardingCacheStore.Operation;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/** The hooks of {@link ForwardingCacheStore}: every method goes through one, once, by name. */
class ForwardingCacheStoreTest {
  private static final Duration TTL = Duration.ofMinutes(1);
  private final InMemoryCacheStore memory = InMemoryCacheStore.create();

  /** Records the operation of every hook call and counts the subscriptions of the calls. */
  private static final class Recording extends ForwardingCacheStore {
    final List<Operation> hooked = new CopyOnWriteArrayList<>();
    final AtomicInteger subscribed = new AtomicInteger();

    Recording(CacheStore delegate) {
      super(delegate);
    }

    @Override
    protected <T> Mono<T> around(Operation operation, Mono<T> call) {
      hooked.add(operation);
      return call.doOnSubscribe(s -> subscribed.incrementAndGet());
    }

    @Override
    protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
      hooked.add(operation);
      return call.doOnSubscribe(s -> subscribed.incrementAndGet());
    }
  }

  @Test
  void leaseEnded_isForwardedToTheDelegate_withoutTheHooks() {
    Sinks.Empty<Void> ended = Sinks.empty();
    CacheStore announcing = new ForwardingCacheStore(memory) {
      @Override
      public Mono<Void> leaseEnded(String key) {
        return key.equals("k") ? ended.asMono() : Mono.never();
      }
    };
    Recording store = new Recording(announcing);
    StepVerifier.create(store.leaseEnded("k"))
        .then(ended::tryEmitEmpty)
        .verifyComplete();
    assertThat(store.hooked).as("a hint is not a store call: a time limit must not see it")
        .isEmpty();
    assertThat(new Recording(memory).leaseEnded("k")).as("a store that cannot announce: never")
        .isSameAs(Mono.never());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void everyMethod_goesThroughItsHook_onceWithItsOperation() {
    Recording store = new Recording(memory);

    store.set("a", bytes("1"), TTL).block();
    store.setAll(List.of(new StoreEntry("b", bytes("2"), TTL))).block();
    assertThat(store.get("a").block()).isEqualTo(bytes("1"));
    assertThat(store.getAll(List.of("a", "b")).block()).containsOnlyKeys("a", "b");
    StoreLookup.Granted lease = (StoreLookup.Granted) store.getOrLease("c", TTL).block();
    assertThat(store.setIfLeased("c", lease.token(), bytes("3"), TTL).block()).isTrue();
    assertThat(store.getOrLeaseAll(List.of("d"), TTL).collectList().block()).hasSize(1);
    String token = store.tryLease("e", TTL).block();
    store.releaseLease("e", token).block();
    String again = store.tryLease("e", TTL).block();
    assertThat(store.setAllIfLeased(List.of(new LeasedEntry("e", again, bytes("5"), TTL)))
        .collectList().block()).containsExactly("e");
    long generation = store.bumpGeneration("n").block();
    assertThat(store.generation("n").block()).isEqualTo(generation);
    store.ping().block();
    assertThat(store.time("n").block()).isPositive();
    store.delete("a").block();
    store.delete(List.of("b")).block();

    assertThat(store.hooked).containsExactly(Operation.SET, Operation.SET_ALL, Operation.GET,
        Operation.GET_ALL, Operation.GET_OR_LEASE, Operation.SET_IF_LEASED,
        Operation.GET_OR_LEASE_ALL, Operation.TRY_LEASE, Operation.RELEASE_LEASE,
        Operation.TRY_LEASE, Operation.SET_ALL_IF_LEASED, Operation.BUMP_GENERATION,
        Operation.GENERATION, Operation.PING, Operation.TIME, Operation.DELETE, Operation.DELETE);
    assertThat(store.hooked).as("every operation has a method").containsAll(
        List.of(Operation.values()));
    assertThat(store.subscribed).hasValue(store.hooked.size());
    assertThat(memory.get("a").block()).as("forwarded: deleted in the delegate").isNull();
    assertThat(memory.get("e").block()).as("forwarded: stored in the delegate")
        .isEqualTo(bytes("5"));
  }

  @Test
  void hook_isGivenTheCallUnsubscribed_andMayReplaceIt() {
    ForwardingCacheStore down = new ForwardingCacheStore(memory) {
      @Override
      protected <T> Mono<T> around(Operation operation, Mono<T> call) {
        return operation == Operation.SET ? Mono.error(new IllegalStateException("down")) : call;
      }
    };

    StepVerifier.create(down.set("k", bytes("v"), TTL)).expectErrorMessage("down")
        .verify(Duration.ofSeconds(5));
    assertThat(memory.get("k").block()).as("the replaced call never ran").isNull();
    StepVerifier.create(down.bumpGeneration("n")).expectNextMatches(g -> g > 0).verifyComplete();
  }

  @Test
  void withoutHooks_forwardsUnchanged() {
    ForwardingCacheStore plain = new ForwardingCacheStore(memory) { };
    plain.set("k", bytes("v"), TTL).block();
    assertThat(memory.get("k").block()).isEqualTo(bytes("v"));
  }
}
