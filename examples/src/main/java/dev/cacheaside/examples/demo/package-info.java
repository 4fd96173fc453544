/**
 * The demo behind README's first command, one package-private class per claim it shows: a
 * cold-key stampede, the stale-set race, bulk round trips, a mixed load on PostgreSQL, Redis
 * killed under load, and early refresh. {@link dev.cacheaside.examples.demo.DemoRunner} runs them
 * and prints the report; {@link dev.cacheaside.examples.demo.DemoSizes} sets how big each is.
 */
@NullMarked
package dev.cacheaside.examples.demo;

import org.jspecify.annotations.NullMarked;
