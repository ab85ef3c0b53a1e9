"""Monte Carlo estimate of the random walk of ln |δ| across layers.

Back-propagating an error δ through a deep stack of random matrices makes
ln |δ_0| − ln |δ_D| = ½ Σ_d ln z_d, z_d = |δ_{d-1}|² / |δ_d|², a random walk
(Sussillo & Abbott, arXiv:1412.6558, §2). :func:`simulate_walk` samples it and returns,
per layer, the mean and variance of the increment ln z_d and of the cumulative walk,
with standard errors.

Samples are split into chunks of :data:`rwinit._config.CHUNK_SAMPLES`; chunk ``i``
owns the random stream ``PCG64(SeedSequence(seed).spawn(n)[i])`` and runs on any thread
of a pool (the Numba kernel releases the GIL). Results therefore depend on the seed only,
never on the number of threads, and a run with more samples extends a run with fewer
(same seed) instead of replacing it.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _config
from ._kernels import DEAD, OVERFLOW, walk_chunk
from .errors import RwinitError
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
    check_width,
)
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
    cumulative walk W_j = ln(|δ after j+1 layers| / |δ at the top|) = ½ Σ_{i<=j} ln z_i.
    Dead walks (δ = 0, e.g. every ReLU unit off) and forward overflows are counted and
    excluded from every mean: the statistics are conditional on survival. In the depth-D
    variant a sample whose walk dies is dropped whole (``dead`` counts them); in the
    stationary variant the layer that killed it is dropped and the walk restarts from a
    fresh δ, which conditions each layer on k >= 1 (``dead_layers`` counts the killing
    layers; ``dead`` is then 0).
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
    sample_log_ratio: np.ndarray = field(repr=False)
    sample_layers: np.ndarray = field(repr=False)
    paths: np.ndarray | None = field(default=None, repr=False)

    @property
    def variant(self) -> str:
        """``"depth-D"`` (a whole depth-D network) or ``"stationary"`` (steady state)."""
        return "stationary" if self.depth is None else "depth-D"

    def _alive(self) -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(self.sample_log_ratio) & (self.sample_layers > 0)
        return 2.0 * self.sample_log_ratio[ok], self.sample_layers[ok].astype(float)

    @property
    def drift(self) -> float:
        """Per-layer drift m = E[ln z] = Σ_i 2 W_i / Σ_i L_i over the surviving samples.

        W_i is sample i's walk over its L_i contributing layers (L_i = ``layers`` unless
        a stationary walk restarted after a dead layer).
        """
        walk2, layers = self._alive()
        return float(walk2.sum() / layers.sum()) if walk2.size else math.nan

    @property
    def drift_se(self) -> float:
        """Standard error of :attr:`drift`, from independent samples (ratio estimator)."""
        walk2, layers = self._alive()
        if walk2.size < 2:
            return math.nan
        residual = walk2 - self.drift * layers
        return float(residual.std(ddof=1) / math.sqrt(walk2.size) / layers.mean())

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


def _chunk_sizes(samples: int) -> list[int]:
    full, rest = divmod(samples, _config.CHUNK_SAMPLES)
    return [_config.CHUNK_SAMPLES] * full + ([rest] if rest else [])


def _combine_welford(counts: np.ndarray, means: np.ndarray, m2s: np.ndarray):
    """Pool per-chunk (count, mean, M2) rows into mean, variance, SE(mean), SE(variance).

    ``counts`` is (chunks,) or (chunks, layers). Chan et al.'s parallel update; the SE of
    the variance by batch means over the chunks with at least two values.
    """
    w = np.broadcast_to(counts if counts.ndim == 2 else counts[:, None], means.shape)
    n = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, (w * means).sum(axis=0) / np.maximum(n, 1), np.nan)
        m2 = (m2s + w * (means - mean) ** 2).sum(axis=0)
        var = np.where(n > 1, m2 / (n - 1), np.nan)
        se_mean = np.sqrt(var / n)
        ok = w >= 2
        n_ok = ok.sum(axis=0)
        chunk_var = np.where(ok, m2s / np.maximum(w - 1, 1), 0.0)
        mean_var = chunk_var.sum(axis=0) / np.maximum(n_ok, 1)
        spread = (np.where(ok, chunk_var - mean_var, 0.0) ** 2).sum(axis=0)
        se_var = np.where(n_ok >= 2, np.sqrt(spread / np.maximum(n_ok - 1, 1) / n_ok), np.nan)
    return mean, var, se_mean, se_var


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
    """Sample the walk of ln |δ| through a deep random network.

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
        Sussillo & Abbott (DESIGN.md §1).
    weights : str
        Weight distribution (:data:`rwinit.weights.WEIGHT_DISTRIBUTIONS`).
    sampler : {"auto", "rotational", "explicit"}
        ``rotational``: the exact O(N)-per-layer sampler (Gaussian weights only);
        ``explicit``: draws every W_d (O(N²)); ``auto`` picks the first when it is exact.
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
    n_total = layers + fwd + bwd
    explicit = sampler == "explicit"
    keep_matrices = explicit and model == "network"
    need = 8 * n_total * N * (3 + (N if keep_matrices else 0))
    if need > _config.WALK_MEMORY_LIMIT:
        raise RwinitError(
            f"one thread would keep {need / 2**20:.0f} MiB of layer state for N={N} and "
            f"{n_total} layers (limit {_config.WALK_MEMORY_LIMIT / 2**20:.0f} MiB); use "
            "fewer layers"
            + (", gaussian weights (rotational sampler) or the paper model"
               if keep_matrices else "")
        )
    threads = threads or os.cpu_count() or 1
    threads = check_positive_int(threads, "threads")
    ss = seed_sequence(seed)
    sizes = _chunk_sizes(M)
    children = chunk_seeds(ss, len(sizes))
    value_fn, deriv_fn, deriv_of_output = nl.kernel_functions
    renormalise = nl.homogeneous and b == 0.0

    n_chunks = len(sizes)
    lz_count = np.zeros((n_chunks, layers))
    lz_mean = np.zeros((n_chunks, layers))
    lz_m2 = np.zeros((n_chunks, layers))
    w_mean = np.zeros((n_chunks, layers))
    w_m2 = np.zeros((n_chunks, layers))
    counts = np.zeros(n_chunks)
    ratio = np.empty(M)
    used_layers = np.empty(M, dtype=np.int64)
    deaths = np.empty(M, dtype=np.int64)
    status = np.empty(M, dtype=np.int8)
    paths = np.full((max(keep_paths, 1), layers + 1), np.nan)
    offsets = np.concatenate([[0], np.cumsum(sizes)])

    def run(c: int) -> None:
        start, stop = offsets[c], offsets[c + 1]
        n_paths = max(0, min(keep_paths - start, stop - start))
        counts[c] = walk_chunk(
            np.random.Generator(np.random.PCG64(children[c])),
            sizes[c], N, fwd, layers, bwd, g, b, model == "network", explicit, code, k,
            _config.TRUNCATED_NORMAL_CUTOFF, truncated_normal_std(), renormalise,
            depth is None, value_fn, deriv_fn, deriv_of_output, nl.param, n_paths,
            lz_count[c], lz_mean[c], lz_m2[c], w_mean[c], w_m2[c],
            ratio[start:stop], used_layers[start:stop], deaths[start:stop],
            status[start:stop],
            paths[start:start + n_paths],  # a view: the kernel writes in place
        )

    t0 = time.perf_counter()
    with progress_bar(total=M, desc=f"walk {nl.label} N={N}", enabled=progress) as bar:
        if threads == 1 or n_chunks == 1:
            for c in range(n_chunks):
                run(c)
                bar.update(sizes[c])
        else:
            with ThreadPoolExecutor(max_workers=min(threads, n_chunks)) as pool:
                for c, _ in zip(range(n_chunks), pool.map(run, range(n_chunks)), strict=True):
                    bar.update(sizes[c])
    seconds = time.perf_counter() - t0

    lzm, lzv, lzm_se, lzv_se = _combine_welford(lz_count, lz_mean, lz_m2)
    wm, wv, wm_se, wv_se = _combine_welford(counts, w_mean, w_m2)
    return WalkResult(
        nonlinearity=nl.label,
        width=N,
        depth=None if depth is None else layers,
        model=model,
        weights=weights,
        sampler=sampler,
        gain=g,
        bias_std=b,
        seed=int(ss.entropy) if isinstance(ss.entropy, int) else None,
        samples=M,
        samples_used=int(counts.sum()),
        dead=int((status == DEAD).sum()),
        dead_layers=int(deaths.sum()),
        overflowed=int((status == OVERFLOW).sum()),
        layers=layers,
        burn_in=(fwd, bwd),
        seconds=seconds,
        log_z_mean=lzm,
        log_z_var=lzv,
        log_z_mean_se=lzm_se,
        log_z_var_se=lzv_se,
        walk_mean=wm,
        walk_var=wv,
        walk_mean_se=wm_se,
        walk_var_se=wv_se,
        sample_log_ratio=ratio,
        sample_layers=used_layers,
        paths=paths[:keep_paths].copy() if keep_paths else None,
    )

