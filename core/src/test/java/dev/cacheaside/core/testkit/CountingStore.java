package dev.cacheaside.core.testkit;

import dev.cacheaside.core.spi.CacheStore;
import dev.cacheaside.core.spi.ForwardingCacheStore;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Counts the store calls the bulk path makes (one count per subscription, that is per round
 * trip), and can fail the multi-get on demand.
 */
public final class CountingStore extends ForwardingCacheStore {
  public final AtomicInteger gets = new AtomicInteger();
  public final AtomicInteger generationReads = new AtomicInteger();
  public final AtomicInteger getAlls = new AtomicInteger();
  public final AtomicInteger getAllKeys = new AtomicInteger();
  public final AtomicInteger getOrLeases = new AtomicInteger();
  public final AtomicInteger getOrLeaseAlls = new AtomicInteger();
  public final AtomicInteger setAlls = new AtomicInteger();
  public final AtomicInteger setAllIfLeaseds = new AtomicInteger();
  public final AtomicInteger sets = new AtomicInteger();
  public final AtomicInteger releases = new AtomicInteger();
  /** While set, multi-gets fail ("getAll is down"). */
  public volatile boolean failGetAll;

  /** Counts the calls to {@code delegate}. */
  public CountingStore(CacheStore delegate) {
    super(delegate);
  }

  private @Nullable AtomicInteger counter(Operation operation) {
    return switch (operation) {
      case GET -> gets;
      case GENERATION -> generationReads;
      case GET_ALL -> getAlls;
      case GET_OR_LEASE -> getOrLeases;
      case GET_OR_LEASE_ALL -> getOrLeaseAlls;
      case SET -> sets;
      case SET_ALL -> setAlls;
      case SET_ALL_IF_LEASED -> setAllIfLeaseds;
      case RELEASE_LEASE -> releases;
      default -> null;
    };
  }

  @Override
  protected <T> Mono<T> around(Operation operation, Mono<T> call) {
    AtomicInteger counter = counter(operation);
    if (counter == null) {
      return call;
    }
    Mono<T> answer = operation == Operation.GET_ALL
        ? Mono.defer(() -> failGetAll ? Mono.error(new IllegalStateException("getAll is down"))
            : call)
        : call;
    return answer.doOnSubscribe(s -> counter.incrementAndGet());
  }

  @Override
  protected <T> Flux<T> aroundMany(Operation operation, Flux<T> call) {
    AtomicInteger counter = counter(operation);
    return counter == null ? call : call.doOnSubscribe(s -> counter.incrementAndGet());
  }

  @Override
  public Mono<Map<String, byte[]>> getAll(Collection<String> keys) {
    return super.getAll(keys).doOnSubscribe(s -> getAllKeys.addAndGet(keys.size()));
  }
}
