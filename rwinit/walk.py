"""Monte Carlo estimate of the random walk of ln |δ| across layers.

Back-propagating an error δ through a deep stack of random matrices makes
ln |δ_0| − ln |δ_D| = ½ Σ_d ln z_d, z_d = |δ_{d-1}|² / |δ_d|², a random walk
(Sussillo & Abbott, arXiv:1412.6558, §2). :func:`simulate_walk` samples it for a square
network (stationary or depth-D), :func:`simulate_layers` for any stack of rectangular
layers with per-layer gains, biases and nonlinearities; both return, per layer, the mean
and variance of the increment ln z_d and of the cumulative walk, with standard errors, and
the per-layer drift with and without control variates (docs/design.md §Control variates).

Random streams (docs/design.md §Kernels and random streams). The rotational sampler runs
chunks of L samples side by side in SIMD lanes (L = 32 … 128, fewer for very wide or
deep walks, set by the layer sizes alone: :meth:`_Plan.lanes`); chunk ``i`` seeds its
lanes' xoshiro256+ generators from ``SeedSequence(seed)``'s child ``i``. The explicit
sampler runs chunks of :data:`rwinit._config.CHUNK_SAMPLES` samples, chunk ``i`` drawing
from ``PCG64(child i)``. Chunks run on any thread of a pool (the kernels release the
GIL) and their statistics are merged in chunk order, in blocks of a fixed size, so results
depend on the seed only, never on the number of threads, and a run with more samples
extends a run with fewer (same seed) instead of replacing it.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from . import _config
from .errors import RwinitError
from .kernels.lanes import DEAD, OVERFLOW
from .nonlinearities import Nonlinearity, get_nonlinearity
from .progress import progress_bar
from .validation import (
    check_choice,
    check_depth,
    check_gain,
    check_model,
    check_nonnegative,
    check_positive_int,
    check_samples,
    check_threads,
    check_width,
)
from .walk_stats import LayerStats, Moments, drift_estimate, log_chi2_mean
from .weights import check_sparsity, truncated_normal_std, weight_code

SAMPLERS: tuple[str, ...] = ("auto", "rotational", "explicit")

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """A SeedSequence from an int, a SeedSequence, a Generator (one draw) or None."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise RwinitError(f"seed must be a whole number >= 0, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def chunk_seed(ss: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """Child ``i`` of ``ss`` (the same as ``chunk_seeds(ss, n)[i]`` for any n > i)."""
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, i),
                                  pool_size=ss.pool_size)


def chunk_seeds(ss: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """The first ``n`` children of ``ss``, without advancing it (unlike ``ss.spawn``).

    Child ``i`` is the same whatever ``n`` is, and every call gives the same children,
    so repeated walks with one seed share their random numbers (common random numbers).
    """
    return [
        np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, i), pool_size=ss.pool_size)
        for i in range(n)
    ]



@dataclass
class WalkResult:
    """Per-layer statistics of the log-norm walk.

    Step ``j`` (0-based) is the j-th layer back-propagated through, counted from the top
    of the measured block. ``log_z_*`` describe the increment ln z_j; ``walk_*`` the
    cumulative walk W_j = ln(|δ after j+1 layers| / |δ at the top|) = ½ Σ_{i<=j} ln z_i,
    i.e. for a network the walk from the top down to layer D − j (``walk_mean[j]``,
    ``walk_var[j]``). Dead walks (δ = 0, e.g. every ReLU unit off) and forward overflows
    are counted and excluded from every mean: the statistics are conditional on survival.
    In the depth-D variant a sample whose walk dies is dropped whole (``dead`` counts
    them); in the stationary variant the layer that killed it is dropped and the walk
    restarts from a fresh δ, which conditions each layer on k >= 1 (``dead_layers``
    counts the killing layers; ``dead`` is then 0).

    The per-layer drift comes plain (:attr:`drift`, :attr:`drift_se`) and, for the
    rotational sampler, with control variates (:attr:`drift_cv`, :attr:`drift_cv_se`,
    :attr:`variance_reduction`; docs/design.md §Control variates). ``moments_*`` are the
    streamed sums they are computed from. Per-sample arrays (``sample_log_ratio``,
    ``sample_layers``) are kept up to :data:`rwinit._config.KEEP_SAMPLE_ARRAYS` samples,
    ``None`` beyond.
    """

    nonlinearity: str
    width: int
    depth: int | None
    model: str
    weights: str
    sampler: str
    gain: float
    bias_std: float
    seed: int | None
    samples: int
    samples_used: int
    dead: int
    dead_layers: int
    overflowed: int
    layers: int
    burn_in: tuple[int, int]
    seconds: float
    log_z_mean: np.ndarray
    log_z_var: np.ndarray
    log_z_mean_se: np.ndarray
    log_z_var_se: np.ndarray
    walk_mean: np.ndarray
    walk_var: np.ndarray
    walk_mean_se: np.ndarray
    walk_var_se: np.ndarray
    sample_log_ratio: np.ndarray | None = field(default=None, repr=False)
    sample_layers: np.ndarray | None = field(default=None, repr=False)
    paths: np.ndarray | None = field(default=None, repr=False)
    widths: tuple[int, ...] | None = None
    lanes: int = 1
    controls: tuple[str, ...] = ()
    moments_n: int = 0
    moments_mean: np.ndarray | None = field(default=None, repr=False)
    moments_comoment: np.ndarray | None = field(default=None, repr=False)

    @property
    def variant(self) -> str:
        """``"depth-D"`` (a whole depth-D network) or ``"stationary"`` (steady state)."""
        return "stationary" if self.depth is None else "depth-D"

    def _estimate(self, cv: bool) -> tuple[float, float, np.ndarray]:
        if self.moments_mean is None:
            return math.nan, math.nan, np.zeros(0)
        idx = tuple(2 + ("A_xi", "A_eta").index(c) for c in self.controls) if cv else ()
        return drift_estimate(self.moments_n, self.moments_mean, self.moments_comoment, idx)

    @property
    def drift(self) -> float:
        """Per-layer drift m = E[ln z] = Σ_i 2 W_i / Σ_i L_i over the surviving samples.

        W_i is sample i's walk over its L_i contributing layers (L_i = ``layers`` unless
        a stationary walk restarted after a dead layer).
        """
        return self._estimate(False)[0]

    @property
    def drift_se(self) -> float:
        """Standard error of :attr:`drift`, from independent samples (ratio estimator)."""
        return self._estimate(False)[1]

    @property
    def drift_cv(self) -> float:
        """The drift with control variates subtracted (= :attr:`drift` without controls)."""
        return self._estimate(True)[0]

    @property
    def drift_cv_se(self) -> float:
        """Standard error of :attr:`drift_cv`, from the regression residual (n − 1 − k dof)."""
        return self._estimate(True)[1]

    @property
    def cv_coefficients(self) -> np.ndarray:
        """The fitted β of the controls named in :attr:`controls`."""
        return self._estimate(True)[2]

    @property
    def variance_reduction(self) -> float:
        """(SE(drift) / SE(drift_cv))²: how many times fewer samples the controls need."""
        se, se_cv = self.drift_se, self.drift_cv_se
        return float(se * se / (se_cv * se_cv)) if se_cv > 0 else math.nan

    @property
    def dead_fraction(self) -> float:
        """Fraction of samples whose walk died."""
        return self.dead / self.samples

    def to_dict(self, per_layer: bool = True) -> dict[str, Any]:
        """A JSON-serialisable dictionary (arrays as lists; NaN as None)."""

        def clean(v: Any) -> Any:
            if isinstance(v, np.ndarray):
                return [clean(x) for x in v.tolist()]
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        out: dict[str, Any] = {
            "nonlinearity": self.nonlinearity,
            "width": self.width,
            "widths": list(self.widths) if self.widths is not None else None,
            "depth": self.depth,
            "variant": self.variant,
            "model": self.model,
            "weights": self.weights,
            "sampler": self.sampler,
            "gain": self.gain,
            "bias_std": self.bias_std,
            "seed": self.seed,
            "samples": self.samples,
            "samples_used": self.samples_used,
            "dead": self.dead,
            "dead_layers": self.dead_layers,
            "overflowed": self.overflowed,
            "layers": self.layers,
            "burn_in": list(self.burn_in),
            "seconds": self.seconds,
            "drift": clean(self.drift),
            "drift_se": clean(self.drift_se),
            "controls": list(self.controls),
            "drift_cv": clean(self.drift_cv),
            "drift_cv_se": clean(self.drift_cv_se),
            "variance_reduction": clean(self.variance_reduction),
        }
        if per_layer:
            for name in ("log_z_mean", "log_z_var", "log_z_mean_se", "log_z_var_se",
                         "walk_mean", "walk_var", "walk_mean_se", "walk_var_se"):
                out[name] = clean(getattr(self, name))
        return out

    def per_layer_rows(self) -> list[dict[str, float]]:
        """One dictionary per step: layer, log_z mean/var/SEs, walk mean/var/SEs."""
        names = ("log_z_mean", "log_z_mean_se", "log_z_var", "log_z_var_se",
                 "walk_mean", "walk_mean_se", "walk_var", "walk_var_se")
        return [
            {"layer": j + 1, **{n: float(getattr(self, n)[j]) for n in names}}
            for j in range(self.layers)
        ]


def resolve_sampler(sampler: str, weights: str) -> str:
    """``auto`` is the O(N) rotational sampler for Gaussian weights, explicit otherwise."""
    check_choice(sampler, "sampler", SAMPLERS)
    if sampler == "auto":
        return "rotational" if weights == "gaussian" else "explicit"
    if sampler == "rotational" and weights != "gaussian":
        raise RwinitError(
            f"the rotational sampler is exact only for gaussian weights, not {weights!r}; "
            "use sampler='explicit' or 'auto'"
        )
    return sampler


# --- the plan: a network as configuration -------------------------------------------


@dataclass
class _Plan:
    """What the kernels run: layer d = 0 … n_total-1 maps widths[d] → widths[d+1]."""

    nls: tuple[Nonlinearity, ...]  # distinct nonlinearities; layer d uses nls[code[d]]
    widths: np.ndarray
    gains: np.ndarray
    bias: np.ndarray
    code: np.ndarray
    param: np.ndarray
    in_mean: np.ndarray
    in_std: np.ndarray
    n_fwd: int
    n_layers: int
    n_bwd: int
    network: bool
    renorm: bool
    restart_dead: bool

    @property
    def n_total(self) -> int:
        return self.n_fwd + self.n_layers + self.n_bwd

    @property
    def sigma(self) -> np.ndarray:
        """σ_d = g_d / √(fan-in)."""
        return self.gains / np.sqrt(self.widths[:-1].astype(float))

    def lane_bytes(self) -> int:
        """Bytes of layer state one lane keeps between its forward and backward pass."""
        from .kernels.lanes import work_size

        kept = work_size(self.widths, self.network, 1)
        return 8 * (kept + 7 * int(self.widths.max()) + 2 * self.n_layers + 16)

    def lanes(self) -> int:
        """Samples per chunk of the batched kernel, from the layer sizes alone: the largest
        power of two L with L·max n_d <= ``LANE_UNITS``, clamped to [``MIN_LANES``,
        ``MAX_LANES``], fewer when a chunk's layer state would exceed ``LANE_STATE_BUDGET``."""
        fit = _config.LANE_UNITS // int(self.widths.max())
        lanes = 1 << max(fit, 1).bit_length() - 1
        lanes = min(max(lanes, _config.MIN_LANES), _config.MAX_LANES)
        return int(max(1, min(lanes, _config.LANE_STATE_BUDGET // self.lane_bytes())))

    def control_means(self) -> tuple[float, float]:
        """E A_ξ and E A_η over the measured layers (docs/design.md §Control variates)."""
        return _control_means(tuple(int(n) for n in self.widths), self.n_fwd, self.n_layers,
                              self.network)


@lru_cache(maxsize=256)
def _control_means(widths: tuple[int, ...], n_fwd: int, n_layers: int,
                   network: bool) -> tuple[float, float]:
    """E A_ξ = Σ_d (ψ(n_{d+1}/2) + ln 2) and E A_η = Σ_d (ψ((n_d − s)/2) + ln 2), s = 1 in the
    network model (η projected off x̂), 0 in the paper model, over the measured layers."""
    measured = range(n_fwd, n_fwd + n_layers)
    mu_xi = sum(log_chi2_mean(widths[d + 1]) for d in measured)
    shift = 1 if network else 0
    mu_eta = sum(log_chi2_mean(widths[d] - shift) for d in measured)
    return mu_xi, mu_eta


def _square_plan(nl: Nonlinearity, N: int, gain: float, bias_std: float, fwd: int,
                 layers: int, bwd: int, model: str, stationary: bool) -> _Plan:
    n_total = fwd + layers + bwd
    return _Plan(
        nls=(nl,), widths=np.full(n_total + 1, N, dtype=np.int64),
        gains=np.full(n_total, gain), bias=np.full(n_total, bias_std),
        code=np.zeros(n_total, dtype=np.int64), param=np.full(n_total, nl.param),
        in_mean=np.zeros(N), in_std=np.ones(N), n_fwd=fwd, n_layers=layers, n_bwd=bwd,
        network=model == "network", renorm=nl.homogeneous and bias_std == 0.0,
        restart_dead=stationary,
    )


def walk_memory_bytes(plan_or_widths, *, network: bool = True, sampler: str = "rotational",
                      threads: int = 1, samples: int = 1) -> int:
    """Estimated bytes a walk holds at once, all threads together.

    Rotational: each running chunk keeps f'(a_d) (and, for the network model, ξ_d and
    x̂_{d-1}) of every layer for its lanes, plus per-lane scratch. Explicit: each running
    chunk keeps its W_d (all D of them in the network model, one in the paper model).
    Per-sample result arrays (up to :data:`rwinit._config.KEEP_SAMPLE_ARRAYS`) come on top.
    """
    if isinstance(plan_or_widths, _Plan):
        plan = plan_or_widths
    else:
        w = np.asarray(plan_or_widths, dtype=np.int64)
        n = len(w) - 1
        plan = _Plan(nls=(), widths=w, gains=np.ones(n), bias=np.zeros(n),
                     code=np.zeros(n, np.int64), param=np.zeros(n), in_mean=np.zeros(w[0]),
                     in_std=np.ones(w[0]), n_fwd=0, n_layers=n, n_bwd=0, network=network,
                     renorm=False, restart_dead=False)
    per_sample = 8 * 4 * min(samples, _config.KEEP_SAMPLE_ARRAYS)
    if sampler == "explicit":
        N = int(plan.widths.max())
        mats = plan.n_total if plan.network else 1
        per_chunk = 8 * (mats * N * N + N * N + (3 + 3 * plan.n_total) * N)
    else:
        per_chunk = plan.lanes() * plan.lane_bytes()
    return threads * per_chunk + per_sample


def _check_memory(plan: _Plan, sampler: str, threads: int, samples: int) -> int:
    """The threads to use: ``threads``, or fewer so that the walk fits in
    WALK_MEMORY_LIMIT; RwinitError (before any work) if one thread does not fit."""
    while threads > 1 and walk_memory_bytes(plan, sampler=sampler, threads=threads,
                                            samples=samples) > _config.WALK_MEMORY_LIMIT:
        threads -= 1
    need = walk_memory_bytes(plan, sampler=sampler, threads=threads, samples=samples)
    if need > _config.WALK_MEMORY_LIMIT:
        widths = plan.widths
        shape = (f"N={widths[0]}" if np.all(widths == widths[0])
                 else f"widths up to {widths.max()}")
        _refuse("about", need, shape, plan.n_total, threads,
                ", gaussian weights (rotational sampler) or the paper model"
                if sampler == "explicit" and plan.network else "")
    return threads


def _refuse_before_building(units: int, shape: str, n_layers: int) -> None:
    """Refuse, from plain numbers and before any array is built, a walk that cannot fit
    even with one lane and one thread: a lane keeps at least one double per unit of every
    layer (f'(a_d), or ξ_d and x_d), so ``units`` = Σ n_d doubles is a lower bound (a
    width or depth near 2^63 would otherwise fail inside NumPy, not here)."""
    if 8 * units > _config.WALK_MEMORY_LIMIT:
        _refuse("at least", 8 * units, shape, n_layers, 1, "")


def _refuse(bound: str, need: int, shape: str, n_layers: int, threads: int,
            hint: str) -> None:
    raise RwinitError(
        f"this walk would hold {bound} {need / 2**20:.0f} MiB ({shape}, {n_layers} "
        f"layer{'s' if n_layers != 1 else ''}, {threads} thread{'s' if threads > 1 else ''}; limit "
        f"{_config.WALK_MEMORY_LIMIT / 2**20:.0f} MiB); use fewer layers or a smaller width"
        + hint
    )


# --- running chunks -----------------------------------------------------------------


class _Collector:
    """Merge per-chunk kernel outputs in chunk order (fixed blocks: thread-independent)."""

    def __init__(self, plan: _Plan, samples: int, keep_paths: int, controls: bool) -> None:
        self.plan = plan
        self.lz = LayerStats(plan.n_layers)
        self.walk = LayerStats(plan.n_layers)
        self.moments = Moments()
        self.keep = samples <= _config.KEEP_SAMPLE_ARRAYS
        self.ratio = np.empty(samples if self.keep else 0)
        self.used = np.empty(samples if self.keep else 0, dtype=np.int64)
        self.paths = np.full((keep_paths, plan.n_layers + 1), np.nan)
        self.controls = controls
        self.mu = plan.control_means() if controls else (0.0, 0.0)
        self.usable = [controls and math.isfinite(mu) for mu in self.mu]
        self.dead = self.overflowed = self.dead_layers = self.alive = 0

    def add_block(self, outs: list[dict], starts: list[int]) -> None:
        self.lz.add(np.stack([o["lz_count"] for o in outs]),
                    np.stack([o["lz_mean"] for o in outs]),
                    np.stack([o["lz_m2"] for o in outs]))
        self.walk.add(np.array([o["alive"] for o in outs], dtype=float),
                      np.stack([o["walk_mean"] for o in outs]),
                      np.stack([o["walk_m2"] for o in outs]))
        walk = np.concatenate([o["walk"] for o in outs])
        layers = np.concatenate([o["layers"] for o in outs])
        status = np.concatenate([o["status"] for o in outs])
        ok = status == 0
        v = np.zeros((walk.size, 4))
        v[ok, 0] = 2.0 * walk[ok]
        v[ok, 1] = layers[ok]
        if self.controls:
            for k, name in ((0, "cxi"), (1, "ceta")):
                col = np.concatenate([o[name] for o in outs]) - self.mu[k]
                if self.usable[k] and np.all(np.isfinite(col)):
                    v[:, 2 + k] = col
                else:  # e.g. a fan-in of 1 in the network model: |(I − x̂x̂ᵀ)η| = 0
                    self.usable[k] = False
        self.moments.add(v)
        self.dead += int((status == DEAD).sum())
        self.overflowed += int((status == OVERFLOW).sum())
        self.dead_layers += int(sum(int(o["deaths"].sum()) for o in outs))
        self.alive += int(ok.sum())
        if self.keep:
            pos = starts[0]
            self.ratio[pos:pos + walk.size] = walk
            self.used[pos:pos + walk.size] = layers


def _chunk_outputs(n: int, layers: int, *, controls: bool) -> dict[str, np.ndarray]:
    """The arrays one chunk of ``n`` samples writes: per-sample results (and the control
    variates' A_ξ, A_η when ``controls``) and per-layer Welford sums, for the collector."""
    out = dict(walk=np.empty(n), layers=np.empty(n, dtype=np.int64),
               status=np.empty(n, dtype=np.int8), deaths=np.empty(n, dtype=np.int64),
               lz_count=np.zeros(layers), lz_mean=np.zeros(layers), lz_m2=np.zeros(layers),
               walk_mean=np.zeros(layers), walk_m2=np.zeros(layers))
    if controls:
        out.update(cxi=np.empty(n), ceta=np.empty(n))
    return out


def _run_chunks(n_chunks: int, chunk: int, total: int, run, collector: _Collector,
                threads: int, progress: bool, desc: str) -> float:
    """Run ``run(c) -> dict`` for every chunk (``chunk`` samples each, the last one the
    rest of ``total``), merging blocks in order; return seconds.

    With a thread pool the next block is queued before the current one is merged, so the
    workers never wait for the merge (which is in chunk order, whatever the threads).
    """
    t0 = time.perf_counter()
    block = _config.MERGE_BLOCK_CHUNKS
    starts = range(0, n_chunks, block)
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 and n_chunks > 1 else None
    queued: deque = deque()

    def results(k: int):
        ids = range(starts[k], min(starts[k] + block, n_chunks))
        if pool is None:
            return map(run, ids)
        while len(queued) < 2 and k + len(queued) < len(starts):
            b0 = starts[k + len(queued)]
            queued.append([pool.submit(run, c) for c in range(b0, min(b0 + block, n_chunks))])
        return (f.result() for f in queued.popleft())

    try:
        with progress_bar(total=total, desc=desc, enabled=progress) as bar:
            for k, b0 in enumerate(starts):
                outs = []
                for out in results(k):
                    outs.append(out)
                    bar.update(out["walk"].size)
                collector.add_block(outs, [c * chunk for c in range(b0, b0 + len(outs))])
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return time.perf_counter() - t0


def _run_lanes(plan: _Plan, samples: int, ss: np.random.SeedSequence, threads: int,
               keep_paths: int, progress: bool, desc: str) -> tuple[_Collector, float, int]:
    from .kernels.factory import lanes_kernel
    from .kernels.lanes import work_size
    from .kernels.rng import seed_lanes

    kernel = lanes_kernel(plan.nls)
    L = plan.lanes()
    n_chunks = -(-samples // L)
    controls = True
    collector = _Collector(plan, samples, keep_paths, controls)
    widths = np.ascontiguousarray(plan.widths, dtype=np.int64)
    sigma = np.ascontiguousarray(plan.sigma)
    bias = np.ascontiguousarray(plan.bias, dtype=float)
    code = np.ascontiguousarray(plan.code, dtype=np.int64)
    param = np.ascontiguousarray(plan.param, dtype=float)
    in_mean = np.ascontiguousarray(plan.in_mean, dtype=float)
    in_std = np.ascontiguousarray(plan.in_std, dtype=float)
    layers = plan.n_layers
    size = work_size(plan.widths, plan.network, L)
    local = threading.local()

    def run(c: int) -> dict:
        work = getattr(local, "work", None)
        if work is None:
            work = local.work = np.empty(size)
        start = c * L
        n = min(L, samples - start)
        n_paths = max(0, min(keep_paths - start, n))
        o = _chunk_outputs(n, layers, controls=True)
        paths = np.full((n_paths, layers + 1), np.nan)
        o["alive"] = kernel(
            seed_lanes(chunk_seed(ss, c), L), n, widths, sigma, bias, code, param, in_mean, in_std,
            plan.n_fwd, layers, plan.n_bwd, plan.network, plan.renorm, plan.restart_dead,
            o["walk"], o["layers"], o["status"], o["deaths"], o["cxi"], o["ceta"],
            o["lz_count"], o["lz_mean"], o["lz_m2"], o["walk_mean"], o["walk_m2"], paths,
            work)
        if n_paths:
            collector.paths[start:start + n_paths] = paths
        return o

    seconds = _run_chunks(n_chunks, L, samples, run, collector, threads, progress, desc)
    return collector, seconds, L


def explicit_chunk_samples(N: int, n_total: int, code: int) -> int:
    """Samples per chunk of the explicit sampler: CHUNK_SAMPLES, or fewer where one sample
    is so much work (N²·layers normals; N³ more per orthogonal QR) that a chunk would last
    longer than an interrupt should wait. Depends on the configuration only."""
    from .weights import WEIGHT_DISTRIBUTIONS

    work = n_total * N * N * (1 + (N // 8 if code == WEIGHT_DISTRIBUTIONS["orthogonal"] else 0))
    return int(max(1, min(_config.CHUNK_SAMPLES, _config.EXPLICIT_CHUNK_WORK // max(work, 1))))


def _run_explicit(plan: _Plan, nl: Nonlinearity, samples: int, ss: np.random.SeedSequence,
                  threads: int, keep_paths: int, progress: bool, desc: str, code: int,
                  sparsity: int, gain: float, bias_std: float) -> tuple[_Collector, float]:
    from threadpoolctl import threadpool_limits

    from .kernels.explicit import walk_chunk

    C = explicit_chunk_samples(int(plan.widths[0]), plan.n_total, code)
    n_chunks = -(-samples // C)
    collector = _Collector(plan, samples, keep_paths, controls=False)
    value_fn, deriv_fn, deriv_of_output = nl.kernel_functions
    N = int(plan.widths[0])
    layers = plan.n_layers

    def run(c: int) -> dict:
        start = c * C
        n = min(C, samples - start)
        n_paths = max(0, min(keep_paths - start, n))
        o = _chunk_outputs(n, layers, controls=False)
        paths = np.full((max(n_paths, 1), layers + 1), np.nan)
        o["alive"] = walk_chunk(
            np.random.Generator(np.random.PCG64(chunk_seed(ss, c))), n, N, plan.n_fwd, layers,
            plan.n_bwd, gain, bias_std, plan.network, True, code, sparsity,
            _config.TRUNCATED_NORMAL_CUTOFF, truncated_normal_std(), plan.renorm,
            plan.restart_dead, value_fn, deriv_fn, deriv_of_output, nl.param, n_paths,
            o["lz_count"], o["lz_mean"], o["lz_m2"], o["walk_mean"], o["walk_m2"],
            o["walk"], o["layers"], o["deaths"], o["status"], paths)
        if n_paths:
            collector.paths[start:start + n_paths] = paths[:n_paths]
        return o

    # one BLAS thread inside the walk (orthogonal weights call LAPACK): the walk's own
    # threads already use every core, and an oversubscribed BLAS pool is many times slower
    with threadpool_limits(limits=1):
        seconds = _run_chunks(n_chunks, C, samples, run, collector, threads, progress, desc)
    return collector, seconds


def _result(collector: _Collector, seconds: float, *, nonlinearity: str, width: int,
            depth: int | None, model: str, weights: str, sampler: str, gain: float,
            bias_std: float, ss: np.random.SeedSequence, samples: int, lanes: int,
            widths: tuple[int, ...] | None, keep_paths: int) -> WalkResult:
    plan = collector.plan
    lzm, lzv, lzm_se, lzv_se = collector.lz.result()
    wm, wv, wm_se, wv_se = collector.walk.result()
    controls: tuple[str, ...] = ()
    if collector.controls:
        diag = np.diag(collector.moments.comoment)
        names = []
        for k, name in ((0, "A_xi"), (1, "A_eta")):
            if collector.usable[k] and np.isfinite(diag[2 + k]) and diag[2 + k] > 0.0:
                names.append(name)
        controls = tuple(names)
    return WalkResult(
        nonlinearity=nonlinearity, width=width, depth=depth, model=model, weights=weights,
        sampler=sampler, gain=gain, bias_std=bias_std,
        seed=int(ss.entropy) if isinstance(ss.entropy, int) else None,
        samples=samples, samples_used=collector.alive, dead=collector.dead,
        dead_layers=collector.dead_layers, overflowed=collector.overflowed,
        layers=plan.n_layers, burn_in=(plan.n_fwd, plan.n_bwd), seconds=seconds,
        log_z_mean=lzm, log_z_var=lzv, log_z_mean_se=lzm_se, log_z_var_se=lzv_se,
        walk_mean=wm, walk_var=wv, walk_mean_se=wm_se, walk_var_se=wv_se,
        sample_log_ratio=collector.ratio if collector.keep else None,
        sample_layers=collector.used if collector.keep else None,
        paths=collector.paths if keep_paths else None,
        widths=widths, lanes=lanes, controls=controls,
        moments_n=collector.moments.n, moments_mean=collector.moments.mean.copy(),
        moments_comoment=collector.moments.comoment.copy(),
    )


def _threads(threads: int | None) -> int:
    # 0 is refused, not read as "all cores" (docs/design.md §Input validation and resources)
    return check_threads(threads) or os.cpu_count() or 1


def simulate_walk(
    nonlinearity: str | Nonlinearity,
    width: int,
    depth: int | None = None,
    *,
    gain: float,
    model: str = "network",
    weights: str = "gaussian",
    sampler: str = "auto",
    samples: int = 1000,
    seed: SeedLike = 0,
    bias_std: float = 0.0,
    sparsity: int | None = None,
    stationary_layers: int | None = None,
    burn_in: tuple[int, int] | None = None,
    threads: int | None = None,
    keep_paths: int = 0,
    progress: bool = False,
) -> WalkResult:
    """Sample the walk of ln |δ| through a deep random network of equal widths.

    Parameters
    ----------
    nonlinearity : str or Nonlinearity
        A registered name (see :func:`rwinit.available_nonlinearities`).
    width : int
        N, the width of every layer (and of the input).
    depth : int or None
        D for the depth-D variant (a whole network fed unit-variance inputs); ``None`` for
        the stationary variant (burn-in, then ``stationary_layers`` measured layers).
    gain : float
        g; weights have standard deviation g / sqrt(N).
    model : {"network", "paper"}
        ``network``: true back-propagation, the same W_d forward and backward.
        ``paper``: the backward matrix is independent of the forward one, as analysed by
        Sussillo & Abbott (docs/design.md §Propagation models).
    weights : str
        Weight distribution (:data:`rwinit.weights.WEIGHT_DISTRIBUTIONS`).
    sampler : {"auto", "rotational", "explicit"}
        ``rotational``: the exact O(N)-per-layer sampler (Gaussian weights only), run by
        the batched kernel with control variates; ``explicit``: draws every W_d (O(N²));
        ``auto`` picks the first when it is exact.
    samples : int
        Independent networks (and errors) sampled.
    seed : int, SeedSequence, Generator or None
        Determines every random draw (and so the result, whatever ``threads`` is).
    bias_std : float
        Standard deviation of the biases b_d (0 in the paper).
    sparsity : int, optional
        Non-zeros per unit for ``weights="sparse"``.
    stationary_layers : int, optional
        Measured layers of the stationary variant (default in :mod:`rwinit._config`).
    burn_in : (int, int), optional
        (forward, backward) burn-in layers of the stationary variant.
    threads : int, optional
        Worker threads (default: all cores).
    keep_paths : int
        Keep the full walk of the first ``keep_paths`` samples in ``result.paths``
        (shape (keep_paths, layers + 1), starting at 0; NaN for dead samples).
    progress : bool
        Show a progress bar on stderr (after a second).

    Returns
    -------
    WalkResult

    Raises
    ------
    RwinitError
        For bad input, or when the walk would need more memory than
        :data:`rwinit._config.WALK_MEMORY_LIMIT` (checked before any work).
    """
    nl = get_nonlinearity(nonlinearity)
    N = check_width(width)
    g = check_gain(gain)
    model = check_model(model)
    code = weight_code(weights)
    sampler = resolve_sampler(sampler, weights)
    M = check_samples(samples)
    b = check_nonnegative(bias_std, "bias_std")
    k = check_sparsity(weights, sparsity, N)
    keep_paths = min(check_positive_int(keep_paths, "keep_paths", minimum=0), M)
    if depth is None:
        layers = check_positive_int(
            stationary_layers or _config.STATIONARY_LAYERS, "stationary_layers"
        )
        fwd, bwd = burn_in or (_config.STATIONARY_FORWARD_BURN_IN,
                               _config.STATIONARY_BACKWARD_BURN_IN)
        fwd = check_positive_int(fwd, "forward burn-in", minimum=0)
        bwd = check_positive_int(bwd, "backward burn-in", minimum=0)
    else:
        layers, fwd, bwd = check_depth(depth), 0, 0
    threads = _threads(threads)
    _refuse_before_building(N * (fwd + layers + bwd + 1), f"N={N}", fwd + layers + bwd)
    plan = _square_plan(nl, N, g, b, fwd, layers, bwd, model, depth is None)
    threads = _check_memory(plan, sampler, threads, M)
    ss = seed_sequence(seed)
    desc = f"walk {nl.label} N={N}"
    if sampler == "explicit":
        collector, seconds = _run_explicit(plan, nl, M, ss, threads, keep_paths, progress,
                                           desc, code, k, g, b)
        lanes = 1
    else:
        collector, seconds, lanes = _run_lanes(plan, M, ss, threads, keep_paths, progress,
                                               desc)
    return _result(collector, seconds, nonlinearity=nl.label, width=N,
                   depth=None if depth is None else layers, model=model, weights=weights,
                   sampler=sampler, gain=g, bias_std=b, ss=ss, samples=M, lanes=lanes,
                   widths=None, keep_paths=keep_paths)


def _per_layer(value: Any, n: int, name: str, check) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=object))
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.ndim != 1 or arr.size != n:
        raise RwinitError(f"{name} must be one number or {n} numbers (one per layer), "
                          f"got {arr.size}")
    return np.array([check(v, name) for v in arr], dtype=float)


def _per_input(value: Any, n0: int, name: str, positive: bool) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        raise RwinitError(f"{name} must be a number or {n0} numbers, got {value!r}") from None
    if arr.size == 1:
        arr = np.full(n0, float(arr[0]))
    if arr.ndim != 1 or arr.size != n0:
        raise RwinitError(f"{name} must be one number or {n0} numbers (one per input), "
                          f"got {arr.size}")
    if not np.all(np.isfinite(arr)) or (positive and np.any(arr < 0)):
        raise RwinitError(f"{name} must be finite{' and >= 0' if positive else ''}")
    return arr


def simulate_layers(
    widths: Sequence[int],
    nonlinearities: Sequence[str | Nonlinearity],
    gains: Sequence[float],
    *,
    bias_std: float | Sequence[float] = 0.0,
    input_mean: float | Sequence[float] = 0.0,
    input_std: float | Sequence[float] = 1.0,
    model: str = "network",
    samples: int = 1000,
    seed: SeedLike = 0,
    threads: int | None = None,
    progress: bool = False,
    keep_paths: int = 0,
) -> WalkResult:
    """Sample the walk of ln |δ| through a stack of rectangular Gaussian layers.

    Layer d = 1 … D maps n_{d-1} inputs to n_d outputs, a_d = g_d W_d x_{d-1} + b_d,
    x_d = f_d(a_d), W_d of i.i.d. N(0, 1/n_{d-1}) entries (σ_d = g_d/√n_{d-1}), b_d of std
    ``bias_std[d]``; x_0 = input_mean + input_std ⊙ ζ. The error δ_D is a random unit
    vector at the top and is back-propagated to the input; with rotational invariance each
    layer costs O(n_{d-1} + n_d) (docs/design.md §Rectangular layers):

        forward   W_d x ~ N(0, σ_d²|x|² I_{n_d}),
        network   W_dᵀu = x̂ (s_d·u)/|x| + (I − x̂x̂ᵀ) σ_d|u| η,  η ∈ R^{n_{d-1}},
        paper     W_dᵀu ~ σ_d |u| η.

    Parameters
    ----------
    widths : sequence of int
        n_0 … n_D (D + 1 numbers, each >= 1).
    nonlinearities : sequence of str or Nonlinearity
        f_1 … f_D (D entries; the read-out layer is typically ``"linear"``).
    gains : sequence of float
        g_1 … g_D.
    bias_std : float or sequence of float
        One std for every layer or one per layer.
    input_mean, input_std : float or sequence of float
        Mean and std of the inputs, one number or n_0 numbers.
    model : {"network", "paper"}
    samples, seed, threads, progress, keep_paths
        As for :func:`simulate_walk`.

    Returns
    -------
    WalkResult
        ``depth`` = D, ``widths`` = (n_0, …, n_D), ``width`` = n_0, ``gain`` = g_D and
        ``nonlinearity`` the distinct names joined by ``+``. Step j is the j-th layer from
        the top: ``walk_mean[j]``/``walk_var[j]`` describe ln(|δ_{D-j-1}|/|δ_D|), the walk
        from layer D − j to the top. The control variates' statistics are included.
    """
    if isinstance(widths, str | bytes):
        raise RwinitError(f"widths must be a sequence of whole numbers >= 1, got {widths!r}")
    try:
        w = [check_positive_int(n, "widths entry") for n in widths]
    except TypeError:
        raise RwinitError("widths must be a sequence of whole numbers >= 1") from None
    D = len(w) - 1
    if D < 1:
        raise RwinitError("widths must have at least two entries (n_0 and n_1)")
    if isinstance(nonlinearities, str | Nonlinearity):
        nonlinearities = [nonlinearities] * D
    nl_list = [get_nonlinearity(f) for f in nonlinearities]
    if len(nl_list) != D:
        raise RwinitError(f"nonlinearities must have {D} entries (one per layer), "
                          f"got {len(nl_list)}")
    g = _per_layer(gains, D, "gains", check_gain)
    b = _per_layer(bias_std, D, "bias_std", check_nonnegative)
    _refuse_before_building(sum(w), f"widths up to {max(w)}", D)
    mean = _per_input(input_mean, w[0], "input_mean", positive=False)
    std = _per_input(input_std, w[0], "input_std", positive=True)
    model = check_model(model)
    M = check_samples(samples)
    keep_paths = min(check_positive_int(keep_paths, "keep_paths", minimum=0), M)
    threads = _threads(threads)

    from .kernels.factory import function_key

    distinct: list[Nonlinearity] = []
    keys: list[tuple] = []
    code = np.empty(D, dtype=np.int64)
    for d, nl in enumerate(nl_list):
        key = function_key(nl)
        if key not in keys:
            keys.append(key)
            distinct.append(nl)
        code[d] = keys.index(key)
    plan = _Plan(
        nls=tuple(distinct), widths=np.array(w, dtype=np.int64), gains=g, bias=b, code=code,
        param=np.array([nl.param for nl in nl_list]), in_mean=mean, in_std=std, n_fwd=0,
        n_layers=D, n_bwd=0, network=model == "network", renorm=False, restart_dead=False,
    )
    threads = _check_memory(plan, "rotational", threads, M)
    ss = seed_sequence(seed)
    labels = "+".join(dict.fromkeys(nl.label for nl in nl_list))
    collector, seconds, lanes = _run_lanes(plan, M, ss, threads, keep_paths, progress,
                                           f"walk {labels} D={D}")
    return _result(collector, seconds, nonlinearity=labels, width=w[0], depth=D,
                   model=model, weights="gaussian", sampler="rotational", gain=float(g[-1]),
                   bias_std=float(b.max()), ss=ss, samples=M, lanes=lanes, widths=tuple(w),
                   keep_paths=keep_paths)
