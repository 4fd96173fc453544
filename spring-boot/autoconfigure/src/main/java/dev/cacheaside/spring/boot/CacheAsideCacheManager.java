package dev.cacheaside.spring.boot;

import dev.cacheaside.core.CacheAside;
import dev.cacheaside.core.CacheAsideBuilder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;
import tools.jackson.databind.ObjectMapper;

/**
 * A Spring {@link CacheManager} of {@link CacheAsideSpringCache}s: each cache is a
 * {@link CacheAside} on the shared store, named after the Spring cache, built by a
 * {@link CacheAsideFactory} (so with the cache's {@code cache-aside.caches.<name>.*} settings).
 *
 * <pre>{@code
 * @Cacheable("products")
 * public Mono<Product> product(long id) { return repository.findById(id); }
 *
 * @Cacheable("recommendations")
 * public Flux<Product> recommendations(long customerId) { ... }   // cached as one list
 *
 * @CacheEvict("products")
 * @Transactional
 * public Mono<Product> rename(long id, String name) { ... }        // after the commit
 * }</pre>
 *
 * <p>Caches named in {@code cache-aside.caches} exist from the start (and so appear in
 * {@code /actuator/caches} and in the cache metrics at once); others are created on first use
 * unless {@code cache-aside.cache-manager.dynamic=false}. See {@link CacheAsideSpringCache} for
 * what the cache operations do.
 *
 * @since 0.1
 */
public class CacheAsideCacheManager implements CacheManager {
  private final CacheAsideFactory factory;
  private final SpringCacheKeyFormat keyFormat;
  private final ObjectMapper mapper;
  private final boolean dynamic;
  private final ConcurrentMap<String, CacheAsideSpringCache> caches = new ConcurrentHashMap<>();
  /** The configured names first, in order, then the dynamic ones as they come. */
  private final Set<String> names = Collections.synchronizedSet(new LinkedHashSet<>());
  private final List<Consumer<CacheAsideSpringCache>> listeners = new CopyOnWriteArrayList<>();

  /**
   * A manager whose caches are built by {@code factory}, with keys written by {@code keyFormat}
   * and values by {@code mapper}.
   *
   * @param initialCaches caches that exist from the start
   * @param dynamic whether other names are created on first use
   */
  public CacheAsideCacheManager(CacheAsideFactory factory, SpringCacheKeyFormat keyFormat,
      ObjectMapper mapper, Collection<String> initialCaches, boolean dynamic) {
    this.factory = Objects.requireNonNull(factory, "factory must not be null");
    this.keyFormat = Objects.requireNonNull(keyFormat, "keyFormat must not be null");
    this.mapper = Objects.requireNonNull(mapper, "mapper must not be null");
    this.dynamic = dynamic;
    for (String name : initialCaches) {
      create(name);
    }
  }

  @Override
  public @Nullable Cache getCache(String name) {
    return cache(name);
  }

  /** The cache named {@code name}, created if this manager is dynamic; null otherwise. */
  public @Nullable CacheAsideSpringCache cache(String name) {
    CacheAsideSpringCache cache = caches.get(name);
    if (cache != null || !dynamic) {
      return cache;
    }
    return create(name);
  }

  @Override
  public Collection<String> getCacheNames() {
    synchronized (names) {
      return List.copyOf(names);
    }
  }

  /**
   * Calls {@code listener} with every cache created from now on (the auto-configuration binds
   * their metrics this way); caches that already exist are passed at once.
   */
  public void onCacheCreated(Consumer<CacheAsideSpringCache> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
    for (CacheAsideSpringCache cache : new ArrayList<>(caches.values())) {
      listener.accept(cache);
    }
  }

  private CacheAsideSpringCache create(String name) {
    boolean[] created = {false};
    CacheAsideSpringCache cache = caches.computeIfAbsent(name, n -> {
      created[0] = true;
      return new CacheAsideSpringCache(build(n), mapper);
    });
    if (created[0]) {
      names.add(name);
      listeners.forEach(listener -> listener.accept(cache));
    }
    return cache;
  }

  /** The cache's name is in every store key already (the core puts it there): not repeated. */
  private CacheAside<Object, byte[]> build(String name) {
    CacheAsideBuilder<Object, byte[]> builder = factory.builder(name, RawBytesCodec.INSTANCE);
    return builder.keyFormat(keyFormat::format).build();
  }

  @Override
  public String toString() {
    return "CacheAsideCacheManager" + getCacheNames();
  }
}
