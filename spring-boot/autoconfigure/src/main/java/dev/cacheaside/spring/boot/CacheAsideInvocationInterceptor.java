package dev.cacheaside.spring.boot;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.springframework.aop.ProxyMethodInvocation;
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
 *
 * <p>Each subscription proceeds on its own copy of the invocation: a Spring invocation walks its
 * interceptor chain with an index it keeps, so a second {@code proceed()} on the same one (the
 * returned {@code Mono} subscribed again: {@code retry()}, {@code repeat()}, two subscribers)
 * would start past Spring's cache interceptor and call the method uncached, and two at once would
 * share the index.
 */
final class CacheAsideInvocationInterceptor implements MethodInterceptor {

  @Override
  public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
    Class<?> returnType = invocation.getMethod().getReturnType();
    if (Mono.class.isAssignableFrom(returnType)) {
      return Mono.deferContextual(context -> {
        InvocationScope scope = new InvocationScope(context);
        return scope.around(publisher(scope, copy(invocation)));
      });
    }
    if (Flux.class.isAssignableFrom(returnType)) {
      return Flux.deferContextual(context -> {
        InvocationScope scope = new InvocationScope(context);
        return scope.around(Flux.from(publisher(scope, copy(invocation))));
      });
    }
    return invocation.proceed();
  }

  /**
   * An invocation that can proceed once more from where {@code invocation} stands (just after
   * this interceptor), without moving {@code invocation} itself; the one given when it cannot be
   * copied (not a proxy's invocation).
   */
  private static MethodInvocation copy(MethodInvocation invocation) {
    return invocation instanceof ProxyMethodInvocation proxied ? proxied.invocableClone()
        : invocation;
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
