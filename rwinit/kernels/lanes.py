"""The batched rotational walk kernel: L samples side by side in SIMD lanes.

docs/design.md §Rotational sampler, §Rectangular layers, §Control variates and §Kernels
and random streams; Sussillo & Abbott, arXiv:1412.6558, eq. 5-7.

Every array holds one sample per column, ``(rows, L)`` with the lane index innermost, so
each loop over units runs L samples in one SIMD pass. A network is configuration: layer
d = 0 … D-1 maps n_d = ``widths[d]`` inputs to n_{d+1} outputs, with
σ_d = g_d/√n_d, bias std b_d and nonlinearity number ``code[d]`` of ``act`` (the fused
f, f' that :mod:`rwinit.kernels.factory` builds). The square walk of
:func:`rwinit.simulate_walk` is the case of equal widths, the stationary variant the case
of a forward burn-in below and a backward burn-in above the measured block.

Per layer, with W_d x ~ N(0, σ_d²|x|² I) (rotational invariance of Gaussian W):

* forward   a_d = σ_d |x_{d-1}| ξ_d + b_d ζ_d,   x_d = f(a_d)                (ξ, ζ fresh)
* backward  u = f'(a_d) ⊙ δ_d, and
    paper:    δ_{d-1} = σ_d |u| η_d
    network:  δ_{d-1} = σ_d [ (ξ_d·u) x̂_{d-1} + |u| (I − x̂x̂ᵀ) η_d ]  (same W_d both ways)
* statistics  ln z_d = 2 ln |δ_{d-1}| (δ_d has unit norm: it is kept as a per-lane
    scale times a vector, so normalising costs no pass), and the control variates
    A_ξ += ln |ξ_d|²,  A_η += ln |(I − x̂x̂ᵀ) η_d|² (network) or ln |η_d|² (paper).

Deaths, restarts and overflow follow the scalar kernel (:mod:`rwinit.kernels.explicit`):
a layer whose δ_{d-1} is 0 or not finite kills the sample (depth-D: status DEAD, the
sample is dropped) or, with ``restart_dead`` (stationary), is left out of the statistics
and the walk restarts from a fresh isotropic δ; a renormalised forward pass that died
restarts from a fresh x; a forward norm that overflowed marks the sample OVERFLOW. Every
lane draws the same numbers whatever happened to it, so the stream, and with it every
other sample, does not depend on the gains (common random numbers).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _config
from .._jit import nb
from .polymath import lane_logs
from .rng import fill_normals, lane_normals

#: Sample status codes written by the kernels.
ALIVE, DEAD, OVERFLOW = 0, 1, 2

_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath=_config.KERNEL_FASTMATH)

# The two functions that take ``act`` are inlined into the generated kernel
# (inline="always"): a jitted function passed across a call boundary is lowered as a
# pointer to the Python object, which Numba refuses to cache on disk.


# --- small pieces, one equation each ---------------------------------------------------


@nb.njit(**_JIT)
def lane_norms(x, row0, n, out):  # pragma: no cover - compiled
    """out[l] = |x[row0 : row0+n, l]| for every lane."""
    L = out.size
    for l in range(L):
        out[l] = 0.0
    for i in range(row0, row0 + n):
        for l in range(L):
            out[l] += x[i, l] * x[i, l]
    for l in range(L):
        out[l] = math.sqrt(out[l])


@nb.njit(**_JIT)
def input_layer(s, x, n0, mean, std):  # pragma: no cover - compiled
    """x_0 = mean + std ⊙ ζ, ζ ~ N(0, I_{n_0}) in every lane."""
    fill_normals(s, x, 0, n0)
    L = x.shape[1]
    for i in range(n0):
        for l in range(L):
            x[i, l] = mean[i] + std[i] * x[i, l]


@nb.njit(inline="always", **_JIT)
def forward_layer(act, code, param, s, xi, xi_off, zeta, xout, xoff, nx, n_out, sigma, bias,
                  deriv, off, network, xi_sq, nx_out):  # pragma: no cover - compiled
    """One forward layer in one fused pass: a = σ|x|ξ + bζ, x ← f(a), keeping f'(a).

    On entry ``xi`` rows xi_off … xi_off+n_out-1 hold ξ_d and ``nx`` holds |x_{d-1}| per lane
    (only the norm of the input enters, by rotational invariance). Writes f'(a) to
    ``deriv`` rows off… (a scratch block the caller reuses when f' is not kept: an
    unconditional store keeps the loop vectorised), and f(a) to ``xout`` rows xoff… in the
    network model, whose backward step needs x̂_d; returns |ξ|² (the control variate's
    term) in ``xi_sq`` and |f(a)| in ``nx_out``.
    """
    L = nx.size
    if bias > 0.0:
        fill_normals(s, zeta, 0, n_out)  # ζ_d, after ξ_d in the stream
    for l in range(L):
        xi_sq[l] = 0.0
        nx_out[l] = 0.0
    for i in range(n_out):
        for l in range(L):
            xi_il = xi[xi_off + i, l]
            xi_sq[l] += xi_il * xi_il
            a = sigma * nx[l] * xi_il
            if bias > 0.0:
                a += bias * zeta[i, l]
            y, dy = act(code, a, param)
            if network:
                xout[xoff + i, l] = y
            deriv[off + i, l] = dy
            nx_out[l] += y * y
    for l in range(L):
        nx_out[l] = math.sqrt(nx_out[l])


@nb.njit(inline="always", **_JIT)
def backward_layer(dact, code, param, from_output, delta, scale, eta, deriv, off, xi, xi_off,
                   x, xoff, yoff, inv, n_in, n_out, sigma, network, nu, c, p, ee, r,
                   k1):  # pragma: no cover - compiled
    """δ_{d-1} from δ_d = ``scale`` ⊙ ``delta`` (per lane), with η_d already in ``eta``.

    u = f'(a_d) ⊙ δ_d gives |u| and ξ_d·u (fused pass over the outputs), f'(a_d) read from
    ``deriv`` rows off… or, with ``from_output``, computed as ``dact(code, y, param)`` from
    the kept y = f(a_d) (``x`` rows yoff…: tanh's 1 − y², no f' kept at all). With
    x̂ = ``inv`` ⊙ x (the kept input, rows xoff…), the network model's

        δ_{d-1} = σ[(ξ·u) x̂ + |u|(η − (x̂·η) x̂)] = σ|u| η + σ(ξ·u − |u| x̂·η) x̂

    is written over ``delta`` rows 0 … n_in-1 (δ_d is not needed any more); a lane with
    ``inv`` = 0 (its input was 0: a dead forward pass) uses x̂ = e_1. The paper model's
    δ_{d-1} = σ|u|η is not formed: its direction is η's. Returns per lane |δ_{d-1}| in
    ``r``, |η|² in ``ee`` and x̂·η in ``p`` (0 in the paper model) for the control
    variate; ``nu``, ``c`` and ``k1`` are scratch.
    """
    L = nu.size
    for l in range(L):
        nu[l] = 0.0
        c[l] = 0.0
        p[l] = 0.0
        ee[l] = 0.0
    for i in range(n_out):
        for l in range(L):
            if from_output:
                u = dact(code, x[yoff + i, l], param) * delta[i, l]
            else:
                u = deriv[off + i, l] * delta[i, l]
            nu[l] += u * u
            if network:
                c[l] += xi[xi_off + i, l] * u
    for i in range(n_in):
        for l in range(L):
            e = eta[i, l]
            ee[l] += e * e
            if network:
                p[l] += x[xoff + i, l] * e
    for l in range(L):
        nu[l] = math.sqrt(nu[l]) * scale[l]  # |u|
    if network:
        for l in range(L):
            c[l] *= scale[l]  # ξ·u
            p[l] = p[l] * inv[l] if inv[l] > 0.0 else eta[0, l]  # x̂·η
            k1[l] = 0.0 if inv[l] > 0.0 else sigma * (c[l] - nu[l] * p[l])  # x̂ = e_1
            c[l] = sigma * (c[l] - nu[l] * p[l]) * inv[l]  # coefficient of x
            nu[l] *= sigma  # coefficient of η
            r[l] = 0.0
        for i in range(n_in):
            for l in range(L):
                vi = nu[l] * eta[i, l] + c[l] * x[xoff + i, l]
                delta[i, l] = vi
                r[l] += vi * vi
        for l in range(L):
            if k1[l] != 0.0:
                r[l] += k1[l] * (2.0 * delta[0, l] + k1[l])
                delta[0, l] += k1[l]
            r[l] = math.sqrt(r[l])
    else:
        for l in range(L):
            r[l] = sigma * nu[l] * math.sqrt(ee[l])


@nb.njit(**_JIT)
def unit_error(s, delta, n, tmp):  # pragma: no cover - compiled
    """δ ← a random unit vector in R^n, every lane."""
    fill_normals(s, delta, 0, n)
    lane_norms(delta, 0, n, tmp)
    for i in range(n):
        for l in range(tmp.size):
            delta[i, l] /= tmp[l]


@nb.njit(**_JIT)
def lane_unit_error(s, l, delta, n):  # pragma: no cover - compiled
    """δ[:, l] ← a random unit vector (a restart after a dead layer)."""
    lane_normals(s, l, delta, 0, n)
    acc = 0.0
    for i in range(n):
        acc += delta[i, l] * delta[i, l]
    r = math.sqrt(acc)
    for i in range(n):
        delta[i, l] /= r


@nb.njit(**_JIT)
def record_sample(lz, ok, l, n_layers, alive_so_far, lz_count, lz_mean, lz_m2,
                  walk_mean, walk_m2, path):  # pragma: no cover - compiled
    """Welford updates of the per-layer ln z and cumulative walk with one live sample.

    Returns (W, layers used): W = ½ Σ_j ln z_j over the layers that contributed.
    ``path`` (length n_layers+1 or 0) receives the cumulative walk.
    """
    cum = 0.0
    used = 0
    if path.size:
        path[0] = 0.0
    for j in range(n_layers):
        if ok[j, l]:
            used += 1
            cum += 0.5 * lz[j, l]
            lz_count[j] += 1.0
            dl = lz[j, l] - lz_mean[j]
            lz_mean[j] += dl / lz_count[j]
            lz_m2[j] += dl * (lz[j, l] - lz_mean[j])
        if path.size:
            path[j + 1] = cum
        dw = cum - walk_mean[j]
        walk_mean[j] += dw / alive_so_far
        walk_m2[j] += dw * (cum - walk_mean[j])
    return cum, used


# --- the core ---------------------------------------------------------------------------


def work_size(widths, network: bool, lanes: int) -> int:
    """Doubles of layer state a chunk keeps between its passes: f'(a_d) of every layer and
    1/|x_d|, and for the network model ξ_d and x_d too (one spare row each: a normal
    generator writes pairs; the paper model keeps one placeholder row of each)."""
    n_total = len(widths) - 1
    rows_out = int(sum(widths[1:]))
    rows_x = int(sum(widths))
    kept = rows_out + n_total + 1 + (rows_out + 1 + rows_x + 1 if network else 2)
    return lanes * kept


@nb.njit(inline="always", **_JIT)
def walk_lanes(act, dact, s, n_valid, widths, sigma, bias, code, param, in_mean, in_std,
               n_fwd, n_layers, n_bwd, network, renorm, restart_dead,
               out_walk, out_layers, out_status, out_deaths, out_cxi, out_ceta,
               lz_count, lz_mean, lz_m2, walk_mean, walk_m2, paths, work):  # pragma: no cover
    """Run one chunk of ``L = s.shape[1]`` samples (the first ``n_valid`` are recorded).

    ``work`` is scratch of at least :func:`work_size` doubles. ``act(k, a, p)`` gives
    (f_k(a), f_k'(a)). ``network`` is 0 for the paper model, 1 for the network model and
    2 for the network model when every f_k' is a function of f_k(a) (tanh's 1 − y²): the
    walk then keeps no f' and ``dact(k, y, p)`` gives f_k' from the kept y.

    Layers d = 0 … n_total-1 bottom to top; the measured ones are
    d ∈ [n_fwd, n_fwd + n_layers); step j = n_fwd + n_layers - 1 - d counts them from the
    top. Per lane it writes the walk W (``out_walk``), the layers that contributed, the
    status, the dead layers and the control variates A_ξ, A_η summed over the measured
    layers; per layer it updates Welford sums over the chunk's live samples. Returns the
    number of live samples.
    """
    L = s.shape[1]
    n_total = n_fwd + n_layers + n_bwd
    nmax = 0
    rows_out = 0
    rows_x = 0
    for d in range(n_total + 1):
        nmax = max(nmax, widths[d])
        rows_x += widths[d]
    for d in range(n_total):
        rows_out += widths[d + 1]
    z = np.empty((nmax + 2, L))
    v = np.empty((nmax + 2, L))
    delta = np.empty((nmax + 2, L))
    # the layer state kept for the backward pass lives in ``work`` (reused chunk after
    # chunk by the caller: fresh pages for megabytes per chunk cost as much as the walk):
    # f'(a_d), 1/|x_d|, and in the network model ξ_d and x_d (x_0 the input); the paper
    # model draws ξ_d into scratch and keeps no x (its steps need |x| only)
    n_xi = rows_out + 1 if network else 1
    n_x = rows_x + 1 if network else 1
    at = 0
    deriv = work[at:at + rows_out * L].reshape((rows_out, L))
    at += rows_out * L
    inv = work[at:at + (n_total + 1) * L].reshape((n_total + 1, L))
    at += (n_total + 1) * L
    xi_kept = work[at:at + n_xi * L].reshape((n_xi, L))
    at += n_xi * L
    x_kept = work[at:at + n_x * L].reshape((n_x, L))
    xi = xi_kept if network else z
    # f' from the kept f(a) where it can be (a renormalised walk may restart x in place)
    keep_deriv = network != 2 or renorm
    x = x_kept if network else np.empty((nmax + 2, L))
    nx = np.empty(L)
    xn = np.empty(L)
    nu = np.empty(L)
    c = np.empty(L)
    p = np.empty(L)
    tmp = np.empty(L)
    r = np.empty(L)
    lg = np.empty(L)
    scale = np.empty(L)
    k1 = np.empty(L)
    status = np.zeros(L, dtype=np.int8)
    deaths = np.zeros(L, dtype=np.int64)
    cxi = np.zeros(L)
    ceta = np.zeros(L)
    lz = np.zeros((max(n_layers, 1), L))
    ok = np.zeros((max(n_layers, 1), L), dtype=np.bool_)
    off_out = np.zeros(n_total + 1, dtype=np.int64)
    off_x = np.zeros(n_total + 1, dtype=np.int64)
    for d in range(n_total):
        off_out[d + 1] = off_out[d] + widths[d + 1]
        off_x[d + 1] = off_x[d] + widths[d] if network else 0
    off_xi = off_out if network else np.zeros(n_total + 1, dtype=np.int64)

    # ---- forward pass ----
    input_layer(s, x, widths[0], in_mean, in_std)
    lane_norms(x, 0, widths[0], nx)
    for l in range(L):
        xn[l] = nx[l]  # |x_d| as kept; nx is the norm the next step uses (1 if renormalised)
    for d in range(n_total):
        n_in, n_out = widths[d], widths[d + 1]
        measured = n_fwd <= d < n_fwd + n_layers
        for l in range(L):
            if restart_dead and renorm and nx[l] == 0.0:
                # the forward pass died (all units off): condition on survival
                lane_normals(s, l, x, off_x[d], n_in)
                acc = 0.0
                for i in range(off_x[d], off_x[d] + n_in):
                    acc += x[i, l] * x[i, l]
                nx[l] = math.sqrt(acc)
                xn[l] = nx[l]
            if not math.isfinite(nx[l]):
                status[l] = OVERFLOW
                nx[l] = 0.0
                xn[l] = 0.0
            # 1/|x|; 0 marks x = 0 (a dead forward pass), where the backward step uses
            # x̂ = e_1: W_d is independent of everything so far, any unit x̂ gives the same
            # law of δ_{d-1}, and e_1 keeps the law of |(I − x̂x̂ᵀ)η|² ~ χ²_{n-1} exact
            inv[d, l] = 1.0 / xn[l] if xn[l] > 0.0 and math.isfinite(xn[l]) else 0.0
        fill_normals(s, xi, off_xi[d], n_out)  # ξ_d
        forward_layer(act, code[d], param[d], s, xi, off_xi[d], v, x, off_x[d + 1], nx, n_out,
                      sigma[d], bias[d], deriv, off_out[d] if keep_deriv else 0, network, tmp,
                      r)
        if measured:
            lane_logs(tmp, lg)
            for l in range(L):
                cxi[l] += lg[l]
        for l in range(L):
            nx[l] = r[l]
            xn[l] = r[l]
        if renorm:
            # x ← x/|x| (exact for homogeneous f without bias): only |x| enters the next
            # step, and x̂ is formed from the kept x and 1/|x|
            for l in range(L):
                if nx[l] > 0.0 and math.isfinite(nx[l]):
                    nx[l] = 1.0

    # ---- backward pass ----
    unit_error(s, delta, widths[n_total], tmp)
    for l in range(L):
        scale[l] = 1.0
    for d in range(n_total - 1, n_fwd - 1, -1):
        n_in, n_out = widths[d], widths[d + 1]
        measured = d < n_fwd + n_layers
        fill_normals(s, z, 0, n_in)  # η_d
        backward_layer(dact, code[d], param[d], not keep_deriv, delta, scale, z, deriv,
                       off_out[d], xi, off_xi[d], x, off_x[d], off_x[d + 1], inv[d], n_in,
                       n_out, sigma[d], network, nu, c, p, tmp, r, k1)
        if measured:
            for l in range(L):
                # |(I − x̂x̂ᵀ)η|² = |η|² − (x̂·η)² (p = 0 in the paper model)
                p[l] = tmp[l] - p[l] * p[l]
            lane_logs(p, lg)
            for l in range(L):
                ceta[l] += lg[l]
            lane_logs(r, lg)  # ln |δ_{d-1}|, used below where the lane is alive
        if not network:
            delta, z = z, delta  # the paper model's δ_{d-1} has η's direction
        j = n_fwd + n_layers - 1 - d
        for l in range(L):
            # δ_{d-1} = scale ⊙ delta: 1/|v| (network) or 1/|η| (paper) makes it a unit
            # vector; 0 for a lane whose walk ended (its numbers are discarded)
            if status[l] == ALIVE and (r[l] == 0.0 or not math.isfinite(r[l])):
                deaths[l] += 1
                if restart_dead:
                    lane_unit_error(s, l, delta, n_in)
                    scale[l] = 1.0
                    continue
                status[l] = DEAD
            scale[l] = 0.0
            if status[l] == ALIVE:
                scale[l] = 1.0 / r[l] if network else 1.0 / math.sqrt(tmp[l])
                if measured:
                    lz[j, l] = 2.0 * lg[l]
                    ok[j, l] = True

    # ---- statistics ----
    n_alive = 0
    empty = np.empty(0)
    for l in range(n_valid):
        out_status[l] = status[l]
        out_deaths[l] = deaths[l]
        out_cxi[l] = cxi[l]
        out_ceta[l] = ceta[l]
        path = paths[l] if l < paths.shape[0] else empty
        if status[l] != ALIVE:
            out_walk[l] = np.nan
            out_layers[l] = 0
            for k in range(path.size):
                path[k] = np.nan
            continue
        n_alive += 1
        w, used = record_sample(lz, ok, l, n_layers, n_alive, lz_count, lz_mean, lz_m2,
                                walk_mean, walk_m2, path)
        out_walk[l] = w
        out_layers[l] = used
    return n_alive
