package dev.cacheaside.spring.boot;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.cache.CacheManager;
import org.springframework.cache.interceptor.AbstractCacheResolver;
import org.springframework.cache.interceptor.CacheAspectSupport;
import org.springframework.cache.interceptor.CacheEvictOperation;
import org.springframework.cache.interceptor.CacheOperation;
import org.springframework.cache.interceptor.CacheOperationSource;
import org.springframework.cache.interceptor.CachePutOperation;
import org.springframework.cache.interceptor.CacheResolver;
import org.springframework.cache.interceptor.CacheableOperation;
import org.springframework.core.MethodClassKey;
import org.springframework.util.StringUtils;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Points the cache operations that would go to the {@link CacheAsideCacheManager} at
 * {@link CacheAsideCacheResolver} (which knows the method, so the value type), and turns a plain
 * {@code @Cacheable} on a method returning {@code Mono} or {@code Flux} into
 * {@code sync = true} where Spring allows it.
 *
 * <h2>Why sync</h2>
 * For a reactive method, Spring 7's cache interceptor calls {@code Cache.retrieve(key, loader)}
 * when the operation is {@code sync = true}, and otherwise {@code Cache.retrieve(key)}, then on a
 * miss calls the method itself and hands the result to {@code Cache.put}. Only the first gives the
 * cache the load: one load per key in this JVM and, through the lease, across instances, and a
 * store that a concurrent invalidation refuses. The second loads wherever the method is called and
 * stores whatever it got, stale or not. So where Spring accepts {@code sync = true} (the method's
 * only cache operation, one cache, no {@code unless}) the operation is given it. The cost: Spring
 * subscribes to the method through a {@code CompletableFuture}, so the method's body does not see
 * the caller's Reactor Context (its transaction, security or tracing context), as with every
 * {@code sync = true} reactive cache. Switch it off with
 * {@code cache-aside.cache-manager.reactive-sync=false}.
 *
 * <p>Installed on every {@link CacheAspectSupport} bean (Spring's cache interceptor) once all
 * singletons exist; the interceptor reads its operation source on every call, and the rewritten
 * operations are kept per method.
 */
final class CacheOperationRewriter implements SmartInitializingSingleton {
  private final ObjectProvider<CacheAspectSupport> interceptors;
  private final BeanFactory beanFactory;
  private final CacheAsideCacheManager manager;
  private final boolean reactiveSync;

  CacheOperationRewriter(ObjectProvider<CacheAspectSupport> interceptors, BeanFactory beanFactory,
      CacheAsideCacheManager manager, boolean reactiveSync) {
    this.interceptors = interceptors;
    this.beanFactory = beanFactory;
    this.manager = manager;
    this.reactiveSync = reactiveSync;
  }

  @Override
  public void afterSingletonsInstantiated() {
    interceptors.orderedStream().forEach(interceptor -> {
      CacheOperationSource source = interceptor.getCacheOperationSource();
      if (source != null && !(source instanceof Rewritten)) {
        interceptor.setCacheOperationSource(new Rewritten(source, interceptor));
      }
    });
  }

  /** The interceptor's operation source, with our operations rewritten. */
  private final class Rewritten implements CacheOperationSource {
    private final CacheOperationSource delegate;
    private final CacheAspectSupport interceptor;
    private final Map<MethodClassKey, Collection<CacheOperation>> rewritten =
        new ConcurrentHashMap<>();

    Rewritten(CacheOperationSource delegate, CacheAspectSupport interceptor) {
      this.delegate = delegate;
      this.interceptor = interceptor;
    }

    @Override
    public boolean isCandidateClass(Class<?> targetClass) {
      return delegate.isCandidateClass(targetClass);
    }

    @Override
    public boolean hasCacheOperations(Method method, @Nullable Class<?> targetClass) {
      return delegate.hasCacheOperations(method, targetClass);
    }

    @Override
    public @Nullable Collection<CacheOperation> getCacheOperations(Method method,
        @Nullable Class<?> targetClass) {
      Collection<CacheOperation> operations = delegate.getCacheOperations(method, targetClass);
      if (operations == null || operations.isEmpty()) {
        return operations;
      }
      return rewritten.computeIfAbsent(new MethodClassKey(method, targetClass),
          key -> rewrite(method, operations));
    }

    private Collection<CacheOperation> rewrite(Method method, Collection<CacheOperation> operations) {
      boolean reactive = Mono.class.isAssignableFrom(method.getReturnType())
          || Flux.class.isAssignableFrom(method.getReturnType());
      List<CacheOperation> result = new ArrayList<>(operations.size());
      for (CacheOperation operation : operations) {
        if (!ours(operation)) {
          result.add(operation);
          continue;
        }
        boolean sync = operation instanceof CacheableOperation cacheable && (cacheable.isSync()
            || (reactiveSync && reactive && operations.size() == 1
                && operation.getCacheNames().size() == 1
                && !StringUtils.hasText(cacheable.getUnless())));
        result.add(copy(operation, sync));
      }
      return List.copyOf(result);
    }

    /** Whether Spring would resolve {@code operation}'s caches with our manager. */
    private boolean ours(CacheOperation operation) {
      if (StringUtils.hasText(operation.getCacheResolver())) {
        return false;
      }
      if (StringUtils.hasText(operation.getCacheManager())) {
        return beanFactory.getBean(operation.getCacheManager(), CacheManager.class) == manager;
      }
      CacheResolver resolver = interceptor.getCacheResolver();
      return resolver instanceof AbstractCacheResolver simple && simple.getCacheManager() == manager;
    }
  }

  private static CacheOperation copy(CacheOperation operation, boolean sync) {
    CacheOperation.Builder builder;
    if (operation instanceof CacheableOperation cacheable) {
      CacheableOperation.Builder b = new CacheableOperation.Builder();
      if (cacheable.getUnless() != null) {
        b.setUnless(cacheable.getUnless());
      }
      b.setSync(sync);
      builder = b;
    } else if (operation instanceof CacheEvictOperation evict) {
      CacheEvictOperation.Builder b = new CacheEvictOperation.Builder();
      b.setCacheWide(evict.isCacheWide());
      b.setBeforeInvocation(evict.isBeforeInvocation());
      builder = b;
    } else if (operation instanceof CachePutOperation put) {
      CachePutOperation.Builder b = new CachePutOperation.Builder();
      if (put.getUnless() != null) {
        b.setUnless(put.getUnless());
      }
      builder = b;
    } else {
      return operation;
    }
    builder.setName(operation.getName());
    builder.setCacheNames(operation.getCacheNames().toArray(String[]::new));
    builder.setKey(operation.getKey());
    builder.setKeyGenerator(operation.getKeyGenerator());
    builder.setCondition(operation.getCondition());
    builder.setCacheResolver(CacheAsideCacheResolver.BEAN_NAME);
    return builder.build();
  }
}
