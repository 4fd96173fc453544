/**
 * A {@link dev.cacheaside.core.Codec} for values that are Protocol Buffers messages:
 * {@link dev.cacheaside.protobuf.ProtobufCodec}.
 */
@NullMarked
package dev.cacheaside.protobuf;

import org.jspecify.annotations.NullMarked;
