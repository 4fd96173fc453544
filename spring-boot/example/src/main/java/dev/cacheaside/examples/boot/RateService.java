package dev.cacheaside.examples.boot;

import org.springframework.cache.annotation.Cacheable;
import org.springframework.stereotype.Service;
import reactor.core.publisher.Mono;

/** Exchange rates, cached in the Caffeine cache: the app's second Spring cache. */
@Service
public class RateService {
  /** The rate of {@code currency} to euros (a fixed table here). */
  @Cacheable(cacheNames = "rates", cacheManager = "caffeineCacheManager")
  public Mono<Double> rate(String currency) {
    return Mono.fromSupplier(() -> switch (currency) {
      case "USD" -> 0.92;
      case "GBP" -> 1.17;
      default -> 1.0;
    });
  }
}
