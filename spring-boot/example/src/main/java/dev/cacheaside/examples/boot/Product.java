package dev.cacheaside.examples.boot;

import org.springframework.data.annotation.Id;
import org.springframework.data.relational.core.mapping.Column;
import org.springframework.data.relational.core.mapping.Table;

/** A row of {@code product}; also the cached value and the JSON body. */
@Table("product")
public record Product(@Id long id, String name, @Column("price_cents") long priceCents) {}
