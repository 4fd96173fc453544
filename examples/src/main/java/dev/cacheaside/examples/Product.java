package dev.cacheaside.examples;

/** A catalog product: what the examples cache. */
public record Product(long id, String name, long priceCents) {}
