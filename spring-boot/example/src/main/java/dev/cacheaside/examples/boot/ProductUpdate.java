package dev.cacheaside.examples.boot;

/** The body of {@code PUT /products/{id}}. */
public record ProductUpdate(String name, long priceCents) {}
