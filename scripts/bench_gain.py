"""Benchmark: the O(N) rotational sampler against explicit matrices (DESIGN.md §3).

Workload: tanh, N = 100, D = 100, network model (true back-propagation), g* to a 95%
confidence half-width of 0.005. Three ways to evaluate m(g) = E[ln z] with M samples:

  (a) rwinit's rotational sampler (O(N) per layer, Numba),
  (b) rwinit's explicit-matrix sampler (draws every W_d, O(N²) per layer, Numba),
  (c) a plain NumPy explicit-matrix walk (per-layer ``rng.standard_normal``, vectorised
      across a batch of samples with batched matmul; honest NumPy, no tricks).

Ratios are taken with one thread (threads=1) so that they compare algorithms, not
cores; 2-thread figures for (a) and (b) are printed beside them. Floors: drawing N²
normals per layer with ``np.random.Generator`` inside ``@njit`` (what (b) cannot avoid),
and drawing the 2·N normals per layer that (a) needs.

Run: ``python scripts/bench_gain.py`` (about a minute and a half; ``--quick`` for less).
"""

from __future__ import annotations

import argparse
import math
import os
import time

# one BLAS thread for (c), as one Numba thread for (a) and (b): ratios compare
# algorithms, not cores (and a spinning BLAS pool distorts timings on a busy machine)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba as nb  # noqa: E402
import numpy as np  # noqa: E402

import rwinit  # noqa: E402
from rwinit import optimal_gain, simulate_walk  # noqa: E402

NONLINEARITY, N, D, MODEL, HALFWIDTH = "tanh", 100, 100, "network", 0.005


_WORKSPACE: dict[tuple[int, int, int], np.ndarray] = {}


def workspace(D: int, batch: int, N: int) -> np.ndarray:
    """The (D, batch, N, N) matrices (c) keeps for its backward pass, allocated and
    touched once, outside the timings (a solver evaluates m(g) many times)."""
    key = (D, batch, N)
    if key not in _WORKSPACE:
        _WORKSPACE.clear()
        _WORKSPACE[key] = np.zeros((D, batch, N, N))
        _WORKSPACE[key].fill(1.0)
    return _WORKSPACE[key]


def numpy_explicit_walk(N: int, D: int, g: float, M: int, seed: int, batch: int = 8):
    """Per-sample ln(|δ_0|/|δ_D|) of tanh networks, explicit Gaussian W_d, network model."""
    rng = np.random.default_rng(seed)
    sigma = g / math.sqrt(N)
    out = np.empty(M)
    W = workspace(D, batch, N)
    fprime = np.empty((D, batch, N))
    for start in range(0, M, batch):
        b = min(batch, M - start)
        x = rng.standard_normal((b, N))
        for d in range(D):
            Wd = W[d, :b]
            rng.standard_normal(out=Wd)
            Wd *= sigma
            a = np.matmul(Wd, x[:, :, None])[:, :, 0]
            x = np.tanh(a)
            fprime[d, :b] = 1.0 - x * x
        delta = rng.standard_normal((b, N))
        delta /= np.linalg.norm(delta, axis=1, keepdims=True)
        total = np.zeros(b)
        for d in range(D - 1, -1, -1):
            u = fprime[d, :b] * delta
            v = np.matmul(u[:, None, :], W[d, :b])[:, 0, :]  # Wᵀ u
            r = np.linalg.norm(v, axis=1)
            total += np.log(r)
            delta = v / r[:, None]
        out[start:start + b] = total
    return out


@nb.njit(cache=True)
def _draw_normals(rng, n):  # pragma: no cover - compiled
    s = 0.0
    for _ in range(n):
        s += rng.standard_normal()
    return s


@nb.njit(cache=True)
def _draw_normals_and_activate(rng, n, act, dact, param):  # pragma: no cover - compiled
    s = 0.0
    for _ in range(n):
        z = rng.standard_normal()
        s += act(z, param) + dact(z, param) + rng.standard_normal()
    return s


def unit_layer_floor(n: int = 4_000_000) -> float:
    """Seconds per unit-layer of the unavoidable work of (a): two normals, f and f'."""
    act, dact = rwinit.get_nonlinearity(NONLINEARITY).compiled
    rng = np.random.default_rng(0)
    _draw_normals_and_activate(rng, 10, act, dact, 0.0)
    t = time.perf_counter()
    _draw_normals_and_activate(rng, n, act, dact, 0.0)
    return (time.perf_counter() - t) / n


def normal_cost(n: int = 20_000_000) -> float:
    """Seconds per standard normal drawn by np.random.Generator inside @njit."""
    rng = np.random.default_rng(0)
    _draw_normals(rng, 10)
    t = time.perf_counter()
    _draw_normals(rng, n)
    return (time.perf_counter() - t) / n


def timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples everywhere")
    ap.add_argument("--numpy-samples", type=int, default=None,
                    help="samples for (b)/(c) evaluation (default: the solver's M)")
    opts = ap.parse_args()

    print(f"rwinit {rwinit.__version__}, numpy {np.__version__}, numba {nb.__version__}")
    print(f"workload: {NONLINEARITY}, N={N}, D={D}, {MODEL} model, 95% CI half-width "
          f"<= {HALFWIDTH}\n")

    # warm up the compiled kernels (disk cache) so that no timing includes compilation
    for sampler in ("rotational", "explicit"):
        simulate_walk(NONLINEARITY, 8, 3, gain=1.0, model=MODEL, sampler=sampler,
                      samples=2, threads=1)

    # ---- (a) the whole solve with the O(N) sampler ----
    res1, t_solve1 = timed(optimal_gain, NONLINEARITY, N, D, model=MODEL,
                           ci_halfwidth=HALFWIDTH, seed=0, threads=1)
    res2, t_solve2 = timed(optimal_gain, NONLINEARITY, N, D, model=MODEL,
                           ci_halfwidth=HALFWIDTH, seed=0, threads=2)
    assert res1.g == res2.g  # same seed, same answer, whatever the thread count
    halfwidth = (res1.ci_high - res1.ci_low) / 2
    print(f"(a) optimal_gain: g* = {res1.g:.5f} ± {halfwidth:.5f} (95%), method "
          f"{res1.method}, M = {res1.samples} samples/evaluation, {res1.evaluations} "
          f"evaluations of m(g), {res1.layers} layer-samples")
    print(f"    wall time {t_solve1:.2f} s (1 thread), {t_solve2:.2f} s (2 threads)\n")

    # ---- one evaluation of m(g) with M samples, each way ----
    M = res1.samples if not opts.quick else min(res1.samples, 256)
    M_slow = opts.numpy_samples or (M if not opts.quick else 64)
    g = res1.g
    kw = dict(gain=g, model=MODEL, seed=1)
    ra, ta1 = timed(simulate_walk, NONLINEARITY, N, D, sampler="rotational", samples=M,
                    threads=1, **kw)
    _, ta2 = timed(simulate_walk, NONLINEARITY, N, D, sampler="rotational", samples=M,
                   threads=2, **kw)
    rb, tb1 = timed(simulate_walk, NONLINEARITY, N, D, sampler="explicit", samples=M_slow,
                    threads=1, **kw)
    _, tb2 = timed(simulate_walk, NONLINEARITY, N, D, sampler="explicit", samples=M_slow,
                   threads=2, **kw)
    workspace(D, 8, N)
    rc, tc = timed(numpy_explicit_walk, N, D, g, M_slow, seed=2)
    # per-walk costs, and one evaluation at M samples (scaled where fewer were run)
    pa1, pa2, pb1, pb2, pc = ta1 / M, ta2 / M, tb1 / M_slow, tb2 / M_slow, tc / M_slow
    drift_c = 2 * rc.mean() / D
    drift_c_se = 2 * rc.std(ddof=1) / math.sqrt(M_slow) / D
    print(f"one evaluation of m(g*) (should be ~0): (a) {ra.drift:+.5f} ± {ra.drift_se:.5f}, "
          f"(b) {rb.drift:+.5f} ± {rb.drift_se:.5f}, (c) {drift_c:+.5f} ± {drift_c_se:.5f}")

    # ---- floors: the random numbers each method must draw ----
    t_normal = normal_cost(4_000_000 if opts.quick else 20_000_000)
    floor_b = N * N * D * t_normal  # network model: W_d drawn once, reused backwards
    floor_a = 2 * N * D * t_normal  # ξ_d forward and η_d backward
    print(f"np.random.Generator in @njit: {1e9 * t_normal:.2f} ns per normal")
    print(f"floor of (b): N²·D normals per walk = {1e3 * floor_b:.3f} ms; (b) is "
          f"{pb1 / floor_b:.2f}x that floor")
    print(f"floor of (a): 2·N·D normals per walk = {1e3 * floor_a:.3f} ms; (a) is "
          f"{pa1 / floor_a:.2f}x that floor")
    floor_a2 = N * D * unit_layer_floor(1_000_000 if opts.quick else 4_000_000)
    print(f"  with f and f' ({NONLINEARITY}, two calls through the registry's cfuncs) per "
          f"unit-layer: {1e3 * floor_a2:.3f} ms per walk; (a) is {pa1 / floor_a2:.2f}x that\n")

    walks = res1.layers // D  # every walk the solve ran (pilot and final evaluations)
    print(f"Summary: per walk (N={N}, D={D}), and the whole solve ({res1.evaluations} "
          f"evaluations of m(g), {walks} walks) at that cost per walk; 1T = 1 thread")
    print(f"{'method':<34} {'ms/walk 1T':>11} {'ms/walk 2T':>11} {'solve 1T s':>11} "
          f"{'time / (c)':>11} {'(c) / time':>11}")
    rows = [
        ("(a) rotational O(N), Numba", pa1, pa2),
        ("(b) explicit matrices, Numba", pb1, pb2),
        ("(c) explicit matrices, NumPy", pc, math.nan),
    ]
    for name, p1, p2 in rows:
        print(f"{name:<34} {1e3 * p1:>11.4f} {1e3 * p2:>11.4f} {p1 * walks:>11.2f} "
              f"{p1 / pc:>11.4f} {pc / p1:>11.1f}")
    print(f"{'floor: N²·D normals (njit)':<34} {1e3 * floor_b:>11.4f} {'':>11} "
          f"{floor_b * walks:>11.2f} {floor_b / pc:>11.4f} {pc / floor_b:>11.1f}")
    print(f"{'floor: 2·N·D normals (njit)':<34} {1e3 * floor_a:>11.4f} {'':>11} "
          f"{floor_a * walks:>11.2f} {floor_a / pc:>11.4f} {pc / floor_a:>11.1f}")
    speedup = pc / pa1
    verdict = "met" if speedup >= 100 else "NOT met"
    print(f"target (a) >= 100x faster than (c): {verdict} ({speedup:.0f}x, 1 thread)\n")

    # ---- growth with N ----
    D_scan = 40  # (b) keeps every W_d of a walk: D·N²·8 bytes, 320 MiB at N = 1024
    print(f"cost per layer-sample vs N (D={D_scan}, network model, 1 thread), microseconds;"
          " 'N² normals' = the njit time to draw one explicit W_d")
    print(f"{'N':>6} {'(a) us':>10} {'(b) us':>10} {'(c) us':>10} {'(b)/(a)':>9} "
          f"{'(c)/(a)':>9} {'N² normals':>11} {'M (a)':>7} {'M (b,c)':>7}")
    widths = (32, 64, 128, 256) if opts.quick else (32, 64, 128, 256, 512, 1024)
    for n in widths:
        ma = 512 if not opts.quick else 64
        mb = max(2, min(256, int(2e7 // (n * n * D_scan)))) if not opts.quick else 2
        _, t_a = timed(simulate_walk, NONLINEARITY, n, D_scan, gain=1.05, model=MODEL,
                       sampler="rotational", samples=ma, threads=1, seed=3)
        _, t_b = timed(simulate_walk, NONLINEARITY, n, D_scan, gain=1.05, model=MODEL,
                       sampler="explicit", samples=mb, threads=1, seed=3)
        workspace(D_scan, min(8, mb), n)
        _, t_c = timed(numpy_explicit_walk, n, D_scan, 1.05, mb, seed=3, batch=min(8, mb))
        ua, ub, uc = (1e6 * t / (m * D_scan) for t, m in ((t_a, ma), (t_b, mb), (t_c, mb)))
        print(f"{n:>6d} {ua:>10.3f} {ub:>10.2f} {uc:>10.2f} {ub / ua:>9.1f} {uc / ua:>9.1f} "
              f"{1e6 * n * n * t_normal:>11.2f} {ma:>7d} {mb:>7d}")


if __name__ == "__main__":
    main()
