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

import numpy as np

from .._jit import nb
from ..weights import draw_standard_weights
from .lanes import ALIVE, DEAD, OVERFLOW, record_sample


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


# --- one equation each (docs/design.md §Explicit sampler, §Rotational sampler) --------


@nb.njit(cache=True, nogil=True)
def standard_normals(rng, v):  # pragma: no cover - compiled
    """v ← ζ ~ N(0, I)."""
    for i in range(v.size):
        v[i] = rng.standard_normal()


@nb.njit(cache=True, nogil=True)
def explicit_forward(w, x, gain, a):  # pragma: no cover - compiled
    """a = g W x for a drawn standard W (entries of variance 1/N)."""
    N = x.size
    for i in range(N):
        acc = 0.0
        for j in range(N):
            acc += w[i, j] * x[j]
        a[i] = gain * acc


@nb.njit(cache=True, nogil=True)
def rotational_forward(rng, x, nx, sigma, a, xi, xhat, keep):  # pragma: no cover
    """a = σ|x| ξ (W x ~ N(0, σ²|x|² I)); keep ξ and x̂ = x/|x| for the network model."""
    inv_nx = 1.0 / nx if nx > 0.0 else 0.0
    for i in range(x.size):
        z = rng.standard_normal()
        a[i] = sigma * nx * z
        if keep:
            xi[i] = z
            xhat[i] = x[i] * inv_nx


@nb.njit(cache=True, nogil=True)
def add_bias(rng, a, bias_std):  # pragma: no cover - compiled
    """a += b ζ, ζ ~ N(0, I)."""
    for i in range(a.size):
        a[i] += bias_std * rng.standard_normal()


@nb.njit(cache=True, nogil=True)
def activate(act, dact, dact_of_output, param, a, x, deriv):  # pragma: no cover
    """x = f(a), deriv = f'(a) (from f(a) where f' is written through the output)."""
    for i in range(a.size):
        y = act(a[i], param)
        deriv[i] = dact(y if dact_of_output else a[i], param)
        x[i] = y


@nb.njit(cache=True, nogil=True)
def explicit_backward(w, u, gain, v):  # pragma: no cover - compiled
    """v = g Wᵀ u."""
    N = u.size
    for j in range(N):
        v[j] = 0.0
    for i in range(N):
        ui = u[i]
        if ui != 0.0:
            for j in range(N):
                v[j] += w[i, j] * ui
    for j in range(N):
        v[j] *= gain


@nb.njit(cache=True, nogil=True)
def rotational_backward(rng, u, nu, sigma, xi, xhat, network, eta, v):  # pragma: no cover
    """v = σ|u| η (paper, or a dead forward x̂ = 0), else
    v = σ[(ξ·u) x̂ + |u|(I − x̂x̂ᵀ)η] (network: W given W x)."""
    standard_normals(rng, eta)
    N = u.size
    if network:
        c = 0.0
        p = 0.0
        for i in range(N):
            c += xi[i] * u[i]
            p += xhat[i] * eta[i]
        for i in range(N):
            v[i] = sigma * (c * xhat[i] + nu * (eta[i] - p * xhat[i]))
    else:
        for i in range(N):
            v[i] = sigma * nu * eta[i]


@nb.njit(cache=True, nogil=True)
def unit_vector(rng, v):  # pragma: no cover - compiled
    """v ← a random unit vector."""
    standard_normals(rng, v)
    r = _norm(v)
    for i in range(v.size):
        v[i] /= r


# --- the kernel ---------------------------------------------------------------------------


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

    Layers are indexed d = 0 … n_total-1 bottom to top. The measured layers are d in
    [n_forward_burn, n_forward_burn + n_layers); step j = 0 … n_layers-1 of the walk is
    the j-th measured layer counted from the top, so that
    walk[j] = ln(|δ after j+1 measured layers| / |δ entering the measured block|).

    A layer that kills the walk (δ = 0: every unit it back-propagates through is off)
    ends the sample unless ``restart_dead``; then (the stationary variant) the layer is
    left out of the statistics — the walk is conditioned on k >= 1 layer by layer
    (docs/design.md §Dead and overflowing walks) — and the walk continues from a fresh
    isotropic δ (and, for a renormalised forward pass that died, a fresh isotropic x).
    ``sample_deaths`` counts the killing layers of each sample, ``sample_layers`` the
    layers it contributed.
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
    lz = np.empty((max(n_layers, 1), 1))
    lz_ok = np.empty((max(n_layers, 1), 1), dtype=np.bool_)
    empty = np.empty(0)
    n_alive = 0

    for s in range(n_samples):
        status = ALIVE
        deaths = 0
        standard_normals(rng, x)
        # ---- forward pass ----
        for d in range(n_total):
            nx = _norm(x)
            if restart_dead and renormalise_forward and nx == 0.0:
                # the forward pass died (all units off): condition on survival
                standard_normals(rng, x)
                nx = _norm(x)
            if not math.isfinite(nx):
                status = OVERFLOW
                nx = 0.0
                x[:] = 0.0
            xnorm[d] = nx
            if explicit:
                w = wbuf[d] if network_model else wtmp
                draw_standard_weights(rng, weight_code, sparsity, trunc_cutoff, trunc_std, w)
                explicit_forward(w, x, gain, a)
            else:
                k = d if keep_fast else 0
                rotational_forward(rng, x, nx, sigma, a, xi[k], xhat[k], keep_fast)
            if bias_std > 0.0:
                add_bias(rng, a, bias_std)
            activate(act, dact, dact_of_output, act_param, a, x, deriv[d])
            if renormalise_forward:
                # exact for positively homogeneous f without bias: f'(c a) = f'(a)
                nx2 = _norm(x)
                if nx2 > 0.0 and math.isfinite(nx2):
                    x /= nx2
        # ---- backward pass ----
        unit_vector(rng, delta)
        lz_ok[:, 0] = False
        for d in range(n_total - 1, n_forward_burn - 1, -1):
            for i in range(N):
                u[i] = deriv[d, i] * delta[i]
            if explicit:
                if network_model:
                    w = wbuf[d]
                else:
                    w = wtmp
                    draw_standard_weights(
                        rng, weight_code, sparsity, trunc_cutoff, trunc_std, w
                    )
                explicit_backward(w, u, gain, v)
            else:
                k = d if keep_fast else 0
                rotational_backward(rng, u, _norm(u), sigma, xi[k], xhat[k],
                                    network_model and xnorm[d] > 0.0, eta, v)
            r = _norm(v)
            if status == ALIVE and (r == 0.0 or not math.isfinite(r)):
                deaths += 1
                if restart_dead:
                    unit_vector(rng, delta)
                    continue
                status = DEAD
            if status == ALIVE:
                for i in range(N):
                    delta[i] = v[i] / r
                if d < n_forward_burn + n_layers:
                    j = n_forward_burn + n_layers - 1 - d
                    lz[j, 0] = 2.0 * math.log(r)
                    lz_ok[j, 0] = True
        # ---- statistics ----
        sample_status[s] = status
        sample_deaths[s] = deaths
        path = paths[s] if s < n_paths else empty
        if status != ALIVE:
            sample_log_ratio[s] = np.nan
            sample_layers[s] = 0
            path[:] = np.nan
            continue
        n_alive += 1
        w_s, used = record_sample(lz, lz_ok, 0, n_layers, n_alive, log_z_count, log_z_mean,
                                  log_z_m2, walk_mean, walk_m2, path)
        sample_log_ratio[s] = w_s
        sample_layers[s] = used
    return n_alive
