package dev.cacheaside.spring.boot;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Wraps a cache-annotated method returning {@code Mono} or {@code Flux}, outside Spring's cache
 * interceptor: the call (Spring's interceptor and the method) happens when the result is
 * subscribed, in an {@link InvocationScope} that carries the subscriber's Context, and the
 * invalidations Spring asks for run in that Context, awaited, after the method's result completed.
 *
 * <p>Deferring the call to subscription is what Spring's own reactive transaction interceptor
 * does; it also makes the cache read lazy, where Spring's interceptor would start it when the
 * method is called. A call that throws at once becomes an error signal.
 */
final class CacheAsideInvocationInterceptor implements MethodInterceptor {

  @Override
  public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
    Class<?> returnType = invocation.getMethod().getReturnType();
    if (Mono.class.isAssignableFrom(returnType)) {
      return Mono.deferContextual(context -> {
        InvocationScope scope = new InvocationScope(context);
        return scope.around(publisher(scope, invocation));
      });
    }
    if (Flux.class.isAssignableFrom(returnType)) {
      return Flux.deferContextual(context -> {
        InvocationScope scope = new InvocationScope(context);
        return scope.around(Flux.from(publisher(scope, invocation)));
      });
    }
    return invocation.proceed();
  }

  @SuppressWarnings("unchecked")
  private static Publisher<Object> publisher(InvocationScope scope, MethodInvocation invocation) {
    try {
      Object result = scope.proceed(invocation);
      return result == null ? Mono.empty() : (Publisher<Object>) result;
    } catch (Throwable e) {
      return Mono.error(e);
    }
  }
}
