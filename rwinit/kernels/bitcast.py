"""Reinterpret the 64 bits of a float64 as a uint64 and back, inside compiled code.

Both are one LLVM ``bitcast`` (no instruction on x86: the value stays in its register), so
a loop that uses them still vectorises. The random streams use them to turn 52 random
bits into a double in [1, 2) and to split a double into exponent and mantissa for the
polynomial logarithm; the polynomial exp uses them to build 2^k. A NumPy array ``view``
does the same for arrays, but costs a store and a load per number.
"""

from __future__ import annotations

from .._jit import nb

types = nb.types
intrinsic = nb.extending.intrinsic


@intrinsic
def float_from_bits(typingctx, bits):  # pragma: no cover - compiled
    """The float64 whose IEEE-754 bit pattern is the uint64 ``bits``."""
    if bits != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.uint64), codegen


@intrinsic
def bits_of_float(typingctx, x):  # pragma: no cover - compiled
    """The IEEE-754 bit pattern of the float64 ``x``, as a uint64."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.uint64))

    return types.uint64(types.float64), codegen
