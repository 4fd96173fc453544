/**
 * Codecs on Jackson 3 ({@code tools.jackson}): {@link dev.cacheaside.jackson.JacksonCodec}.
 * Binary formats on Jackson 3 (Smile, CBOR) belong here too.
 */
@NullMarked
package dev.cacheaside.jackson;

import org.jspecify.annotations.NullMarked;
