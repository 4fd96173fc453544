/**
 * Examples a user copies from: the demo, a catalog service, a streaming batch job. Not published;
 * uses the public API only.
 */
@NullMarked
package dev.cacheaside.examples;

import org.jspecify.annotations.NullMarked;
