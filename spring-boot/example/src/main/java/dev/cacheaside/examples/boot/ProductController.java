package dev.cacheaside.examples.boot;

import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The HTTP face of the catalog; caching and transactions are the service's business. */
@RestController
public class ProductController {
  private final ProductService products;
  private final RateService rates;

  public ProductController(ProductService products, RateService rates) {
    this.products = products;
    this.rates = rates;
  }

  @GetMapping("/rates/{currency}")
  public Mono<Double> rate(@PathVariable String currency) {
    return rates.rate(currency);
  }

  @GetMapping("/products/{id}")
  public Mono<Product> product(@PathVariable long id) {
    return products.product(id)
        .switchIfEmpty(Mono.error(() -> new ResponseStatusException(HttpStatus.NOT_FOUND,
            "no product " + id)));
  }

  @GetMapping("/products")
  public Flux<Product> cheaperThan(@RequestParam("cheaperThan") long price) {
    return products.cheaperThan(price);
  }

  @PutMapping("/products/{id}")
  public Mono<Product> update(@PathVariable long id, @RequestBody ProductUpdate update) {
    return products.update(id, update)
        .switchIfEmpty(Mono.error(() -> new ResponseStatusException(HttpStatus.NOT_FOUND,
            "no product " + id)));
  }
}
