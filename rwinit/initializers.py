"""Weight and bias initializers: one general core, the named schemes as one-liners.

Shape convention (as everywhere in rwinit): a weight matrix has shape
``(fan_out, fan_in)`` and acts as ``a = W @ x`` (PyTorch's ``Linear.weight`` layout), so
``fan_in = shape[1]`` and ``fan_out = shape[0]``. Every function takes ``rng``, a
:class:`numpy.random.Generator` or an int seed, and never touches global random state.

The core is :func:`variance_scaling` (as ``jax.nn.initializers.variance_scaling``): the
entries have mean 0 and variance

.. math::

    \\operatorname{Var} W_{ij} = \\frac{\\text{scale}}{n},\\qquad
    n \\in \\{\\text{fan\\_in},\\ \\text{fan\\_out},\\ (\\text{fan\\_in}+\\text{fan\\_out})/2\\}

drawn from one of the laws of :func:`rwinit.weights.sample_weights` (gaussian, uniform,
truncated_normal, orthogonal, sparse). The named schemes fix ``scale``, ``mode`` and the
law:

=====================  ====================  =======  =====  ========================
name                   law                   mode     scale  source
=====================  ====================  =======  =====  ========================
random_walk            gaussian              fan_in   g²     Sussillo & Abbott 2014
classic_uniform        U(-1/√n, 1/√n)        fan_in   1/3    PyTorch ``Linear``
glorot_uniform         uniform               fan_avg  1      Glorot & Bengio 2010
glorot_normal          gaussian              fan_avg  1      Glorot & Bengio 2010
he_normal/he_uniform   gaussian/uniform      fan_in   2      He et al. 2015
lecun_normal/uniform   gaussian/uniform      fan_in   1      LeCun et al. 1998
orthogonal             g·√(max(m,n)/n)·Q     fan_in   g²     Saxe et al. 2013
sparse                 k non-zeros per row   fan_in   g²     Martens 2010
=====================  ====================  =======  =====  ========================

(``glorot_normal`` is the untruncated normal of ``torch.nn.init.xavier_normal_``; Keras
truncates it.) :func:`lsuv` rescales already-drawn weights from the activation
statistics of one minibatch (Mishkin & Matas 2015).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .errors import RwinitError
from .nonlinearities import Nonlinearity, get_nonlinearity
from .validation import check_choice, check_nonnegative, check_positive_int
from .weights import as_generator, sample_weights

Shape = tuple[int, int]
RNG = np.random.Generator | int | None

#: Fan modes of :func:`variance_scaling`.
FAN_MODES: tuple[str, ...] = ("fan_in", "fan_out", "fan_avg")


def _check_shape(shape: Sequence[int]) -> Shape:
    if len(shape) != 2:
        raise RwinitError(f"shape must be (fan_out, fan_in), got {tuple(shape)!r}")
    return check_positive_int(shape[0], "fan_out"), check_positive_int(shape[1], "fan_in")


def variance_scaling(
    shape: Sequence[int],
    rng: RNG = None,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "gaussian",
    sparsity: int | None = None,
) -> np.ndarray:
    """Weights of shape ``(fan_out, fan_in)`` with mean 0 and variance ``scale / n``.

    Parameters
    ----------
    shape : (int, int)
        ``(fan_out, fan_in)``.
    rng : numpy.random.Generator or int, optional
        Source of randomness.
    scale : float
        Variance times the fan ``n``; the random-walk gain g corresponds to ``scale = g²``.
    mode : {"fan_in", "fan_out", "fan_avg"}
        Which fan ``n`` is: fan_in, fan_out or (fan_in + fan_out) / 2.
    distribution : {"gaussian", "uniform", "truncated_normal", "orthogonal", "sparse"}
        Law of the entries (see :func:`rwinit.weights.sample_weights`).
    sparsity : int, optional
        k, non-zero weights per row, for ``"sparse"``.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(fan_out, fan_in)``.

    Notes
    -----
    :func:`rwinit.weights.sample_weights` draws variance ``gain² / fan_in``, so the gain
    passed to it is ``sqrt(scale · fan_in / n)``.
    """
    fan_out, fan_in = _check_shape(shape)
    check_choice(mode, "fan mode", FAN_MODES)
    scale = check_nonnegative(scale, "scale")
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": 0.5 * (fan_in + fan_out)}[mode]
    gain = math.sqrt(scale * fan_in / n)
    return sample_weights(
        distribution, (fan_out, fan_in), gain, as_generator(rng), sparsity=sparsity
    )


# --- named weight initializers (one-liners on the core) -------------------------------


def random_walk(shape: Sequence[int], rng: RNG = None, gain: float = 1.0) -> np.ndarray:
    """Gaussian N(0, g²/fan_in): std g/√fan_in (Sussillo & Abbott, arXiv:1412.6558, §2)."""
    return variance_scaling(shape, rng, scale=float(gain) ** 2)


def classic_uniform(shape: Sequence[int], rng: RNG = None) -> np.ndarray:
    """U(-1/√fan_in, 1/√fan_in), PyTorch's default for ``nn.Linear`` (variance 1/(3 fan_in))."""
    return variance_scaling(shape, rng, scale=1.0 / 3.0, distribution="uniform")


def glorot_uniform(shape: Sequence[int], rng: RNG = None) -> np.ndarray:
    """U(-a, a), a = √(6/(fan_in+fan_out)) (Glorot & Bengio 2010, eq. 16)."""
    return variance_scaling(shape, rng, mode="fan_avg", distribution="uniform")


def glorot_normal(shape: Sequence[int], rng: RNG = None) -> np.ndarray:
    """N(0, 2/(fan_in+fan_out)) (Glorot & Bengio 2010; ``torch.nn.init.xavier_normal_``)."""
    return variance_scaling(shape, rng, mode="fan_avg")


def he_normal(shape: Sequence[int], rng: RNG = None) -> np.ndarray:
    """N(0, 2/fan_in) (He et al. 2015, eq. 10)."""
    return variance_scaling(shape, rng, scale=2.0)


def he_uniform(shape: Sequence[int], rng: RNG = None) -> np.ndarray:
    """U(-√(6/fan_in), √(6/fan_in)): variance 2/fan_in (He et al. 2015)."""
    return variance_scaling(shape, rng, scale=2.0, distribution="uniform")


def lecun_normal(shape: Sequence[int], rng: RNG = None) -> np.ndarray:
    """N(0, 1/fan_in) (LeCun et al. 1998, "Efficient BackProp")."""
    return variance_scaling(shape, rng)


def lecun_uniform(shape: Sequence[int], rng: RNG = None) -> np.ndarray:
    """U(-√(3/fan_in), √(3/fan_in)): variance 1/fan_in (LeCun et al. 1998)."""
    return variance_scaling(shape, rng, distribution="uniform")


def orthogonal(shape: Sequence[int], rng: RNG = None, gain: float = 1.0) -> np.ndarray:
    """Haar (semi-)orthogonal Q scaled to variance g²/fan_in (Saxe et al. 2013).

    For a square matrix this is g·Q (singular values g, as ``torch.nn.init.orthogonal_``);
    for a non-square one the singular values are g·√(max(fan_out, fan_in)/fan_in), which
    keeps the entry variance at g²/fan_in.
    """
    return variance_scaling(shape, rng, scale=float(gain) ** 2, distribution="orthogonal")


def sparse(shape: Sequence[int], rng: RNG = None, k: int = 15, gain: float = 1.0) -> np.ndarray:
    """Exactly k non-zero weights per unit (row), each N(0, g²/k) (Martens 2010, §5).

    Martens used k = 15 and unit-variance non-zeros; here they are scaled so the entry
    variance is g²/fan_in like every other scheme (Martens' choice is g = √k).
    """
    return variance_scaling(shape, rng, scale=float(gain) ** 2, distribution="sparse", sparsity=k)


#: Weight initializers by name; each is ``f(shape, rng, **kw) -> ndarray``.
WEIGHT_INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "random_walk": random_walk,
    "classic_uniform": classic_uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "orthogonal": orthogonal,
    "sparse": sparse,
}

#: Initializers that take a gain g.
GAIN_INITIALIZERS: frozenset[str] = frozenset({"random_walk", "orthogonal", "sparse"})


def get_initializer(name: str) -> Callable[..., np.ndarray]:
    """A weight initializer by name; the error lists the known ones."""
    return WEIGHT_INITIALIZERS[check_choice(name, "initializer", WEIGHT_INITIALIZERS)]


# --- biases ----------------------------------------------------------------------------


def zeros_bias(n: int) -> np.ndarray:
    """b = 0 (the paper's choice, docs/design.md §The model)."""
    return np.zeros(check_positive_int(n, "bias size"))


def constant_bias(n: int, value: float) -> np.ndarray:
    """b = value in every unit."""
    if not math.isfinite(float(value)):
        raise RwinitError(f"bias value must be finite, got {value!r}")
    return np.full(check_positive_int(n, "bias size"), float(value))


def classic_uniform_bias(fan_in: int, fan_out: int, rng: RNG = None) -> np.ndarray:
    """U(-1/√fan_in, 1/√fan_in), PyTorch's default ``nn.Linear`` bias."""
    bound = 1.0 / math.sqrt(check_positive_int(fan_in, "fan_in"))
    return as_generator(rng).uniform(-bound, bound, check_positive_int(fan_out, "fan_out"))


def output_bias_from_marginals(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Output bias with softmax(b) equal to the class marginals of ``labels``.

    b_c = ln p_c − mean_c ln p_c, so that softmax(b)_c = p_c: a network whose logits
    start near 0 then predicts the class frequencies from the first step (a common
    practice, e.g. A. Karpathy, "A recipe for training neural networks", 2019).

    Raises
    ------
    RwinitError
        If a class never occurs (its bias would be −∞).
    """
    n_classes = check_positive_int(n_classes, "n_classes")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or labels.min() < 0 or labels.max() >= n_classes:
        raise RwinitError(f"labels must be a non-empty 1-d array of ints in [0, {n_classes})")
    counts = np.bincount(labels.astype(np.int64), minlength=n_classes)
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0).tolist()
        raise RwinitError(f"classes {missing} never occur; their softmax bias would be -inf")
    log_p = np.log(counts / counts.sum())
    return log_p - log_p.mean()


# --- LSUV ------------------------------------------------------------------------------


def lsuv(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    nonlinearity: str | Nonlinearity,
    *,
    target_variance: float = 1.0,
    tol: float = 0.01,
    max_iter: int = 10,
    rescale_last: bool = False,
) -> list[np.ndarray]:
    """Layer-sequential unit-variance rescaling of weights (Mishkin & Matas 2015, Alg. 1).

    Going up the network, the pre-activations a_d = W_d x_{d-1} + b_d of the minibatch
    ``x`` are computed and W_d is divided by √(Var a_d / target) until
    |Var a_d − target| < tol · target (at most ``max_iter`` times; with zero biases one
    pass is exact). The last (linear read-out) layer is left alone unless
    ``rescale_last``.

    Parameters
    ----------
    weights, biases : sequences of arrays
        W_d of shape ``(fan_out, fan_in)`` and b_d; the usual start is :func:`orthogonal`.
    x : numpy.ndarray
        One minibatch, shape ``(batch, fan_in of layer 1)``.
    nonlinearity : str or Nonlinearity
        f of the hidden layers.

    Returns
    -------
    list of numpy.ndarray
        New weight matrices (the inputs are not modified).
    """
    nl = get_nonlinearity(nonlinearity)
    if len(weights) != len(biases) or not weights:
        raise RwinitError("lsuv needs as many biases as weight matrices, at least one")
    target = check_nonnegative(target_variance, "target_variance")
    h = np.asarray(x, dtype=np.float64)
    out: list[np.ndarray] = []
    depth = len(weights)
    for d, (w, b) in enumerate(zip(weights, biases, strict=True)):
        w = np.array(w, dtype=np.float64)
        last = d == depth - 1
        if not last or rescale_last:
            for _ in range(max_iter):
                var = float(np.var(h @ w.T + b))
                if var == 0.0 or abs(var - target) < tol * target:
                    break
                w *= math.sqrt(target / var)
        out.append(w)
        if not last:
            h = nl(h @ w.T + b)
    return out
