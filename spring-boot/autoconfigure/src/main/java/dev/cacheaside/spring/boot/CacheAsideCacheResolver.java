package dev.cacheaside.spring.boot;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.aop.support.AopUtils;
import org.springframework.cache.Cache;
import org.springframework.cache.interceptor.BasicOperation;
import org.springframework.cache.interceptor.CacheEvictOperation;
import org.springframework.cache.interceptor.CacheOperationInvocationContext;
import org.springframework.cache.interceptor.CachePutOperation;
import org.springframework.cache.interceptor.CacheResolver;
import org.springframework.cache.interceptor.CacheableOperation;
import org.springframework.core.MethodClassKey;

/**
 * The cache resolver of every cache operation that names a cache of the
 * {@link CacheAsideCacheManager} ({@link CacheOperationRewriter} points the operations here). It
 * is asked per call, with the method: it answers views of the manager's caches that read and
 * write the method's declared value type, know the operation, and carry the call's
 * {@link InvocationScope}.
 */
final class CacheAsideCacheResolver implements CacheResolver {
  static final String BEAN_NAME = "cacheAsideCacheResolver";

  private final CacheAsideCacheManager manager;
  private final Map<MethodClassKey, ValueShape> shapes = new ConcurrentHashMap<>();

  CacheAsideCacheResolver(CacheAsideCacheManager manager) {
    this.manager = manager;
  }

  CacheAsideCacheManager manager() {
    return manager;
  }

  @Override
  public Collection<? extends Cache> resolveCaches(CacheOperationInvocationContext<?> context) {
    BasicOperation operation = context.getOperation();
    Method method = context.getMethod();
    Class<?> targetClass = AopUtils.getTargetClass(context.getTarget());
    ValueShape shape = shapes.computeIfAbsent(new MethodClassKey(method, targetClass),
        key -> ValueShape.of(method, targetClass));
    CacheView.Kind kind = operation instanceof CacheableOperation ? CacheView.Kind.CACHEABLE
        : operation instanceof CachePutOperation ? CacheView.Kind.PUT
        : operation instanceof CacheEvictOperation ? CacheView.Kind.EVICT
        : CacheView.Kind.DIRECT;
    InvocationScope scope = InvocationScope.current();
    List<Cache> views = new ArrayList<>(operation.getCacheNames().size());
    for (String name : operation.getCacheNames()) {
      CacheAsideSpringCache cache = manager.cache(name);
      if (cache == null) {
        throw new IllegalArgumentException("no cache-aside cache named '" + name + "' for "
            + operation + " (cache-aside.cache-manager.dynamic is false; list it under"
            + " cache-aside.caches)");
      }
      views.add(cache.view(shape, kind, scope));
    }
    return views;
  }
}
