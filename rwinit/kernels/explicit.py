"""The scalar walk kernel: explicit matrices (any weight distribution) or rotational.

docs/design.md §Explicit sampler. The reference the batched kernel
(:mod:`rwinit.kernels.lanes`) is tested against; :func:`rwinit.simulate_walk` uses it for
``sampler="explicit"``. One kernel, :func:`walk_chunk`, runs a chunk of independent
samples with its own random stream. Each sample draws an input x_0 ~ N(0, I_N), runs
the forward pass a_d = g W_d x_{d-1} + b_d, x_d = f(a_d) through ``n_total`` layers, then
back-propagates a random unit error δ from the top,

    δ_{d-1} = g W̃_dᵀ (f'(a_d) ⊙ δ_d),

renormalising δ at every layer and accumulating ln z_d = ln(|δ_{d-1}|² / |δ_d|²).
(Sussillo & Abbott, arXiv:1412.6558, eq. 5-7.)

Two samplers of W share the code:

* explicit matrices (the reference): draw W_d entry by entry from any distribution
  in :mod:`rwinit.weights`;
* rotational invariance (exact for Gaussian weights, O(N) per layer): with
  σ = g/√N, the forward pass is a_d = σ|x_{d-1}| ξ_d + b_d; in the ``paper`` model the
  backward step is σ|u| η, and in the ``network`` model (the same W_d forward and
  backward) it is δ_{d-1} = σ[(ξ_d·u) x̂_{d-1} + |u| (I − x̂x̂ᵀ) η] with u = f'(a_d) ⊙ δ_d.

Every random draw is made whether or not a sample has died, so that the stream, and
with it every later sample of the chunk, does not depend on g (common random numbers).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..weights import draw_standard_weights
from .lanes import ALIVE, DEAD, OVERFLOW  # noqa: F401  (the shared status codes)


@nb.njit(cache=True, nogil=True)
def _norm(v):  # pragma: no cover - compiled
    # four partial sums: independent addition chains the CPU can overlap (about twice
    # as fast as one chain); the order is fixed, so results do not depend on the machine
    n = v.size
    s0 = s1 = s2 = s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += v[i] * v[i]
        s1 += v[i + 1] * v[i + 1]
        s2 += v[i + 2] * v[i + 2]
        s3 += v[i + 3] * v[i + 3]
    for i in range(m, n):
        s0 += v[i] * v[i]
    return math.sqrt((s0 + s1) + (s2 + s3))


@nb.njit(cache=True, nogil=True)
def walk_chunk(  # pragma: no cover - compiled
    rng,
    n_samples,
    width,
    n_forward_burn,
    n_layers,
    n_backward_burn,
    gain,
    bias_std,
    network_model,
    explicit,
    weight_code,
    sparsity,
    trunc_cutoff,
    trunc_std,
    renormalise_forward,
    restart_dead,
    act,
    dact,
    dact_of_output,
    act_param,
    n_paths,
    log_z_count,
    log_z_mean,
    log_z_m2,
    walk_mean,
    walk_m2,
    sample_log_ratio,
    sample_layers,
    sample_deaths,
    sample_status,
    paths,
):
    """Run ``n_samples`` walks; write Welford sums and per-sample results; return alive count.

    Layers are indexed d = 0 … n_total-1 bottom to top (layer d+1 of DESIGN.md). The
    measured layers are d in [n_forward_burn, n_forward_burn + n_layers); step j = 0 …
    n_layers-1 of the walk is the j-th measured layer counted from the top, so that
    walk[j] = ln(|δ after j+1 measured layers| / |δ entering the measured block|).

    A layer that kills the walk (δ = 0: every unit it back-propagates through is off)
    ends the sample unless ``restart_dead``; then (the stationary variant) the layer is
    left out of the statistics — the walk is conditioned on k >= 1 layer by layer, as
    DESIGN.md §2 asks — and the walk continues from a fresh isotropic δ (and, for a
    renormalised forward pass that died, a fresh isotropic x). ``sample_deaths`` counts
    the killing layers of each sample, ``sample_layers`` the layers it contributed.
    """
    N = width
    n_total = n_forward_burn + n_layers + n_backward_burn
    sigma = gain / math.sqrt(N)
    x = np.empty(N)
    a = np.empty(N)
    u = np.empty(N)
    v = np.empty(N)
    eta = np.empty(N)
    delta = np.empty(N)
    deriv = np.empty((n_total, N))
    keep_fast = network_model and not explicit
    xi = np.empty((n_total if keep_fast else 1, N))
    xhat = np.empty((n_total if keep_fast else 1, N))
    xnorm = np.empty(n_total)
    wbuf = np.empty((n_total if (explicit and network_model) else 1, N, N))
    wtmp = np.empty((N, N))
    lz = np.empty(n_layers)
    lz_ok = np.empty(n_layers, dtype=np.bool_)
    n_alive = 0

    for s in range(n_samples):
        status = 0
        deaths = 0
        for i in range(N):
            x[i] = rng.standard_normal()
        # ---- forward pass ----
        for d in range(n_total):
            nx = _norm(x)
            if restart_dead and renormalise_forward and nx == 0.0:
                # the forward pass died (all units off): condition on survival
                for i in range(N):
                    x[i] = rng.standard_normal()
                nx = _norm(x)
            if not math.isfinite(nx):
                status = 2
                nx = 0.0
                for i in range(N):
                    x[i] = 0.0
            xnorm[d] = nx
            if explicit:
                w = wbuf[d] if network_model else wtmp
                draw_standard_weights(rng, weight_code, sparsity, trunc_cutoff, trunc_std, w)
                for i in range(N):
                    acc = 0.0
                    for j in range(N):
                        acc += w[i, j] * x[j]
                    a[i] = gain * acc
            else:
                inv_nx = 1.0 / nx if nx > 0.0 else 0.0
                for i in range(N):
                    z = rng.standard_normal()
                    a[i] = sigma * nx * z
                    if keep_fast:
                        xi[d, i] = z
                        xhat[d, i] = x[i] * inv_nx
            if bias_std > 0.0:
                for i in range(N):
                    a[i] += bias_std * rng.standard_normal()
            for i in range(N):
                y = act(a[i], act_param)
                deriv[d, i] = dact(y if dact_of_output else a[i], act_param)
                x[i] = y
            if renormalise_forward:
                # exact for positively homogeneous f without bias: f'(c a) = f'(a)
                nx2 = _norm(x)
                if nx2 > 0.0 and math.isfinite(nx2):
                    inv = 1.0 / nx2
                    for i in range(N):
                        x[i] *= inv
        # ---- backward pass ----
        for i in range(N):
            delta[i] = rng.standard_normal()
        nd = _norm(delta)
        for i in range(N):
            delta[i] /= nd
        for j in range(n_layers):
            lz_ok[j] = False
        d_stop = n_forward_burn
        for d in range(n_total - 1, d_stop - 1, -1):
            for i in range(N):
                u[i] = deriv[d, i] * delta[i]
            nu = _norm(u)
            if explicit:
                if network_model:
                    w = wbuf[d]
                else:
                    w = wtmp
                    draw_standard_weights(
                        rng, weight_code, sparsity, trunc_cutoff, trunc_std, w
                    )
                for j in range(N):
                    v[j] = 0.0
                for i in range(N):
                    ui = u[i]
                    if ui != 0.0:
                        for j in range(N):
                            v[j] += w[i, j] * ui
                for j in range(N):
                    v[j] *= gain
            else:
                for i in range(N):
                    eta[i] = rng.standard_normal()
                if network_model and xnorm[d] > 0.0:
                    # W given W x: the part along x is known, the rest is fresh Gaussian
                    c = 0.0
                    p = 0.0
                    for i in range(N):
                        c += xi[d, i] * u[i]
                        p += xhat[d, i] * eta[i]
                    for i in range(N):
                        v[i] = sigma * (c * xhat[d, i] + nu * (eta[i] - p * xhat[d, i]))
                else:
                    for i in range(N):
                        v[i] = sigma * nu * eta[i]
            r = _norm(v)
            if status == 0 and (r == 0.0 or not math.isfinite(r)):
                deaths += 1
                if restart_dead:
                    for i in range(N):
                        delta[i] = rng.standard_normal()
                    nd = _norm(delta)
                    for i in range(N):
                        delta[i] /= nd
                    continue
                status = 1
            if status == 0:
                inv_r = 1.0 / r
                for i in range(N):
                    delta[i] = v[i] * inv_r
                if d < n_forward_burn + n_layers:
                    j = n_forward_burn + n_layers - 1 - d
                    lz[j] = 2.0 * math.log(r)
                    lz_ok[j] = True
        sample_status[s] = status
        sample_deaths[s] = deaths
        if status != 0:
            sample_log_ratio[s] = np.nan
            sample_layers[s] = 0
            if s < n_paths:
                for j in range(n_layers + 1):
                    paths[s, j] = np.nan
            continue
        n_alive += 1
        cum = 0.0
        used = 0
        if s < n_paths:
            paths[s, 0] = 0.0
        for j in range(n_layers):
            if lz_ok[j]:
                used += 1
                cum += 0.5 * lz[j]
                log_z_count[j] += 1.0
                dl = lz[j] - log_z_mean[j]
                log_z_mean[j] += dl / log_z_count[j]
                log_z_m2[j] += dl * (lz[j] - log_z_mean[j])
            if s < n_paths:
                paths[s, j + 1] = cum
            dw = cum - walk_mean[j]
            walk_mean[j] += dw / n_alive
            walk_m2[j] += dw * (cum - walk_mean[j])
        sample_log_ratio[s] = cum
        sample_layers[s] = used
    return n_alive
