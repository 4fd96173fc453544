package dev.cacheaside.spring.boot;

import dev.cacheaside.core.CacheAside;
import org.springframework.beans.factory.config.BeanPostProcessor;

/** Makes every {@code CacheAside} bean a {@link TransactionAwareCacheAside}. */
final class TransactionAwareCacheAsidePostProcessor implements BeanPostProcessor {
  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    return bean instanceof CacheAside<?, ?> cache ? TransactionAwareCacheAside.wrap(cache) : bean;
  }
}
