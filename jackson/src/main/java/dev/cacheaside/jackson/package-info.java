/**
 * Codecs on Jackson 3 ({@code tools.jackson}): {@link dev.cacheaside.jackson.JacksonCodec}, for
 * JSON and, with their optional dependencies, the binary Smile and CBOR formats.
 */
@NullMarked
package dev.cacheaside.jackson;

import org.jspecify.annotations.NullMarked;
