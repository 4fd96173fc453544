package dev.cacheaside.spring.boot;

import java.lang.reflect.Method;
import java.util.Collection;
import org.springframework.aop.support.StaticMethodMatcherPointcut;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cache.interceptor.CacheOperation;
import org.springframework.cache.interceptor.CacheOperationSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Methods returning {@code Mono} or {@code Flux} that carry a cache annotation (as Spring's own
 * cache operation source reads them): where {@link CacheAsideInvocationInterceptor} applies.
 */
final class ReactiveCacheMethodPointcut extends StaticMethodMatcherPointcut {
  private final ObjectProvider<CacheOperationSource> sources;

  ReactiveCacheMethodPointcut(ObjectProvider<CacheOperationSource> sources) {
    this.sources = sources;
  }

  @Override
  public boolean matches(Method method, Class<?> targetClass) {
    Class<?> returned = method.getReturnType();
    if (!Mono.class.isAssignableFrom(returned) && !Flux.class.isAssignableFrom(returned)) {
      return false;
    }
    return sources.orderedStream().anyMatch(source -> {
      Collection<CacheOperation> operations = source.getCacheOperations(method, targetClass);
      return operations != null && !operations.isEmpty();
    });
  }
}
