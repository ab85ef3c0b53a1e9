"""Numeric settings of rwinit, kept in one place (never as literals in kernels).

Every tunable constant the kernels, the walk driver and the solver use lives here so
that a reader can see, and a test can change, all of them at once.
"""

from __future__ import annotations

#: Samples per chunk. A chunk is the unit of work given to one thread and owns one
#: random stream (a child of the user's ``SeedSequence``), so results depend on the
#: seed and on the chunk size, never on the number of threads.
CHUNK_SAMPLES: int = 16

#: The explicit sampler's chunks hold at most this much work (normals drawn, counting an
#: orthogonal draw's QR as N/8 normals per entry), so that an interrupt is honoured within
#: a second or so: wide, deep or orthogonal walks get chunks of fewer samples.
EXPLICIT_CHUNK_WORK: int = 50_000_000

#: Forward layers run before measuring, in the stationary variant, so that the forward
#: activations reach their steady state (docs/design.md §The model).
STATIONARY_FORWARD_BURN_IN: int = 100

#: Backward layers run (from a random Gaussian error at the top) before measuring, in
#: the stationary variant, so that the direction of the error reaches its steady state.
STATIONARY_BACKWARD_BURN_IN: int = 10

#: Layers over which the stationary per-layer drift is averaged.
STATIONARY_LAYERS: int = 400

#: Largest memory (bytes) a walk may hold at once, all its threads together, as estimated
#: by :func:`rwinit.walk.walk_memory_bytes` (the layer state each running chunk keeps
#: between its forward and backward pass, plus per-sample results). A walk runs on fewer
#: threads to stay under it, and is refused up front if one thread cannot.
WALK_MEMORY_LIMIT: int = 2 * 2**30

#: Two-sided confidence level of the intervals the solver reports.
CONFIDENCE: float = 0.95

#: Default 95% confidence half-width the adaptive solver aims for.
DEFAULT_CI_HALFWIDTH: float = 0.005

#: Samples of the solver's pilot run (its standard error sets the final sample count).
PILOT_SAMPLES: int = 64

#: A gain result warns when more than this fraction of its walks died or overflowed.
LOST_FRACTION_WARNING: float = 0.1

#: Largest sample count the adaptive solver will ask for.
MAX_SAMPLES: int = 100_000

#: Samples per evaluation when a network has no driftless gain and the solver looks for
#: the gain of largest drift instead (the maximum is flat: its place needs few samples,
#: and the drift there is reported with its SE).
MAX_DRIFT_SAMPLES: int = 1024

#: Relative step of the central difference that estimates dm/dg at the root.
SLOPE_RELATIVE_STEP: float = 0.02

#: Relative tolerance of the scalar root solve in g.
ROOT_RTOL: float = 1e-5

#: The solver looks for g* in this range; a drift that changes sign only outside it (e.g.
#: ELU or sigmoid at N = 2, where rare near-dead layers dominate E ln z) is reported as
#: having no usable unbiased gain rather than as g* ~ 1e3.
GAIN_SEARCH_RANGE: tuple[float, float] = (0.01, 100.0)

#: Geometric factor and maximum number of steps of the root-bracketing search.
BRACKET_FACTOR: float = 1.25
BRACKET_MAX_STEPS: int = 40

#: Above this width the exact ReLU moments come from their expansion in the binomial's
#: central moments (rwinit.theory), not from a sum over active counts (whose ±40 SD window
#: grows like √N: 4·10^5 terms here). Both agree to 1e-14 at this width.
RELU_EXPANSION_WIDTH: int = 10**8

#: Clip the truncated normal at this many standard deviations of the underlying normal.
TRUNCATED_NORMAL_CUTOFF: float = 2.0

#: Gauss-Hermite nodes for mean-field (infinite-width) expectations.
QUADRATURE_NODES: int = 201

#: LLVM fast-math flags of the walk kernels: only fused multiply-add ("contract"), which
#: keeps IEEE semantics for NaN, infinities and reassociation (so results stay
#: reproducible and a dead walk is still detected).
KERNEL_FASTMATH: set[str] = {"contract"}

#: Let LLVM use 512-bit vectors on AVX-512 CPUs whose tuning prefers 256-bit ones (Intel
#: server cores); see :mod:`rwinit._jit`. Read once, before Numba first compiles.
FULL_WIDTH_VECTORS: bool = True

#: Samples a chunk of the batched rotational kernel runs side by side in SIMD lanes: the
#: largest power of two L with L·(widest layer) <= LANE_UNITS, between MIN_LANES and
#: MAX_LANES. More lanes spread each layer's fixed cost over more samples as long as one
#: layer's arrays stay in the L2 cache (on the README's 2-core AVX-512 machine, at D = 100:
#: 128 lanes 1.26x faster than 32 at width 32, 64 lanes 1.1x at width 100, 32 best at 256).
LANE_UNITS: int = 8192
MIN_LANES: int = 32
MAX_LANES: int = 128

#: Bytes one chunk may use for the layer state it keeps for its backward pass; wider or
#: deeper walks run fewer lanes per chunk (down to one) to stay under it.
LANE_STATE_BUDGET: int = 64 * 2**20

#: Chunks whose statistics are merged at a time (a fixed number, so that the merged
#: floating-point sums do not depend on the thread count).
MERGE_BLOCK_CHUNKS: int = 64

#: Keep per-sample arrays in a WalkResult up to this many samples; beyond it only the
#: streamed sums are kept (memory stays bounded whatever ``samples`` is).
KEEP_SAMPLE_ARRAYS: int = 1 << 20

#: Where the root solver of optimal_gain starts.
ROOT_START_GAIN: float = 1.0

#: The solver's first Newton step, relative to the starting gain.
NEWTON_FIRST_STEP: float = 0.05

#: Newton steps on the CRN secant slope before the solver falls back to bracketing.
NEWTON_MAX_STEPS: int = 12
