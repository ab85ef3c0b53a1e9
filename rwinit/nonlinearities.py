"""Registry of nonlinearities f with their derivatives f', callable from Numba kernels.

Every nonlinearity is a pair of scalar functions ``value(x, p)`` and ``derivative(x, p)``
of a float ``x`` and one float parameter ``p`` (the leaky-ReLU slope, the ELU alpha, …;
ignored by those that have none). The batched rotational kernel compiles them into its
loops (:mod:`rwinit.kernels.factory`: one specialisation per set of nonlinearities, cached
on disk), so f and f' are inlined; the explicit-matrix kernel and elementwise evaluation
take them compiled with :func:`numba.cfunc` to ``float64(float64, float64)``. A
user-registered nonlinearity gets both, exactly as a built-in one.

A nonlinearity is *positively homogeneous* when f(c·x) = c·f(x) for c > 0 (linear, ReLU,
leaky ReLU). Then f'(g·a) = f'(a), the gain factors out of the walk and
E ln z = 2 ln g + c (docs/design.md §Exact results), which the solver uses.

Examples
--------
>>> import math
>>> from rwinit.nonlinearities import register_nonlinearity, get_nonlinearity
>>> def cube_root(x, p):
...     return math.copysign(abs(x) ** (1.0 / 3.0), x)
>>> def cube_root_prime(x, p):
...     return 1.0 / (3.0 * max(abs(x), 1e-300) ** (2.0 / 3.0))
>>> nl = register_nonlinearity("cube_root", cube_root, cube_root_prime)  # doctest: +SKIP
>>> get_nonlinearity("cube_root").name  # doctest: +SKIP
'cube_root'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._jit import nb
from .errors import RwinitError
from .kernels.bitcast import float_from_bits

#: Numba signature of every scalar value and derivative function: f(x, param) -> float.
SCALAR_SIGNATURE = nb.types.float64(nb.types.float64, nb.types.float64)

ScalarFunction = Callable[[float, float], float]

_SELU_LAMBDA = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717
_INV_SQRT2 = 0.70710678118654752440
_INV_SQRT_2PI = 0.39894228040143267794


# --- built-in scalar functions (plain Python; compiled lazily by numba.cfunc) ---------


def _linear(x: float, p: float) -> float:
    return x


def _linear_prime(x: float, p: float) -> float:
    return 1.0


def _relu(x: float, p: float) -> float:
    return x if x > 0.0 else 0.0


def _relu_prime(x: float, p: float) -> float:
    return 1.0 if x > 0.0 else 0.0


def _leaky_relu(x: float, p: float) -> float:
    return x if x > 0.0 else p * x


def _leaky_relu_prime(x: float, p: float) -> float:
    return 1.0 if x > 0.0 else p


_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k·_LN2_HI is exact (fdlibm)
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_U52 = np.uint64(52)


@nb.njit(cache=True, nogil=True, inline="always")
def _exp_nonpositive(t: float) -> float:  # pragma: no cover - compiled
    """exp(t) for t <= 0, to a few ulp, as branch-free arithmetic a compiler vectorises.

    t = k ln 2 + r, |r| <= ln2/2: exp(r) by its Taylor series to r¹³ (error < 1e-17) times
    2^k, written straight into the exponent bits of a double (k ∈ [−58, 0] after the
    clamp, so 2^k is a normal number). t is clamped at −40, where exp(t) < 5e-18 no
    longer changes 1 ± exp(t) (all tanh needs).
    """
    t = max(t, -40.0)
    k = np.floor(t * _INV_LN2 + 0.5)
    r = (t - k * _LN2_HI) - k * _LN2_LO
    e = 1.0 / 6227020800.0  # 1/13!
    e = e * r + 1.0 / 479001600.0
    e = e * r + 1.0 / 39916800.0
    e = e * r + 1.0 / 3628800.0
    e = e * r + 1.0 / 362880.0
    e = e * r + 1.0 / 40320.0
    e = e * r + 1.0 / 5040.0
    e = e * r + 1.0 / 720.0
    e = e * r + 1.0 / 120.0
    e = e * r + 1.0 / 24.0
    e = e * r + 1.0 / 6.0
    e = e * r + 0.5
    e = e * r + 1.0
    e = e * r + 1.0
    return e * float_from_bits(np.uint64(np.int64(k) + 1023) << _U52)  # e·2^k


def _tanh(x: float, p: float) -> float:
    # tanh = (1 − e)/(1 + e), e = exp(−2|x|), with sign: accurate to a few ulp, and with
    # the polynomial exp the walk kernels' loops over units vectorise
    e = _exp_nonpositive(-2.0 * abs(x))
    return math.copysign((1.0 - e) / (1.0 + e), x)


def _tanh_prime(x: float, p: float) -> float:
    e = _exp_nonpositive(-2.0 * abs(x))
    t = (1.0 - e) / (1.0 + e)
    return 1.0 - t * t


def _tanh_prime_of_output(y: float, p: float) -> float:
    return 1.0 - y * y


def _sigmoid(x: float, p: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _sigmoid_prime(x: float, p: float) -> float:
    e = math.exp(-abs(x))
    return e / ((1.0 + e) * (1.0 + e))


def _sigmoid_prime_of_output(y: float, p: float) -> float:
    return y * (1.0 - y)


def _elu(x: float, p: float) -> float:
    return x if x > 0.0 else p * math.expm1(x)


def _elu_prime(x: float, p: float) -> float:
    return 1.0 if x > 0.0 else p * math.exp(x)


def _selu(x: float, p: float) -> float:
    return _SELU_LAMBDA * (x if x > 0.0 else _SELU_ALPHA * math.expm1(x))


def _selu_prime(x: float, p: float) -> float:
    return _SELU_LAMBDA * (1.0 if x > 0.0 else _SELU_ALPHA * math.exp(x))


def _selu_prime_of_output(y: float, p: float) -> float:
    return _SELU_LAMBDA if y > 0.0 else y + _SELU_LAMBDA * _SELU_ALPHA


def _gelu(x: float, p: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x * _INV_SQRT2))


def _gelu_prime(x: float, p: float) -> float:
    return 0.5 * (1.0 + math.erf(x * _INV_SQRT2)) + x * _INV_SQRT_2PI * math.exp(-0.5 * x * x)


def _silu(x: float, p: float) -> float:
    if x >= 0.0:
        return x / (1.0 + math.exp(-x))
    e = math.exp(x)
    return x * e / (1.0 + e)


def _silu_prime(x: float, p: float) -> float:
    if x >= 0.0:
        s = 1.0 / (1.0 + math.exp(-x))
    else:
        e = math.exp(x)
        s = e / (1.0 + e)
    return s * (1.0 + x * (1.0 - s))


def _softplus(x: float, p: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _softplus_prime(x: float, p: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu6(x: float, p: float) -> float:
    return min(max(x, 0.0), 6.0)


def _relu6_prime(x: float, p: float) -> float:
    return 1.0 if 0.0 < x < 6.0 else 0.0


def _relu6_prime_of_output(y: float, p: float) -> float:
    return 1.0 if 0.0 < y < 6.0 else 0.0


def _hardtanh(x: float, p: float) -> float:
    return min(max(x, -1.0), 1.0)


def _hardtanh_prime(x: float, p: float) -> float:
    return 1.0 if -1.0 < x < 1.0 else 0.0


def _hardtanh_prime_of_output(y: float, p: float) -> float:
    return 1.0 if -1.0 < y < 1.0 else 0.0


def _hardsigmoid(x: float, p: float) -> float:
    return min(max(x / 6.0 + 0.5, 0.0), 1.0)


def _hardsigmoid_prime(x: float, p: float) -> float:
    return 1.0 / 6.0 if -3.0 < x < 3.0 else 0.0


def _hardsigmoid_prime_of_output(y: float, p: float) -> float:
    return 1.0 / 6.0 if 0.0 < y < 1.0 else 0.0


def _hardswish(x: float, p: float) -> float:
    return x * min(max(x + 3.0, 0.0), 6.0) / 6.0


def _hardswish_prime(x: float, p: float) -> float:
    if x <= -3.0:
        return 0.0
    if x >= 3.0:
        return 1.0
    return (2.0 * x + 3.0) / 6.0


@nb.njit(cache=True, nogil=True, inline="always")
def _mish_tanh_softplus(x: float) -> float:  # pragma: no cover - compiled
    # tanh(log(1 + e^x)) = n(n + 2) / (n(n + 2) + 2), n = e^x; 1 to double precision above
    # x = 20 (the error is 2e^(−2x)), where n(n + 2) would lose the 2
    if x > 20.0:
        return 1.0
    n = math.exp(x)
    m = n * (n + 2.0)
    return m / (m + 2.0)


def _mish(x: float, p: float) -> float:
    return x * _mish_tanh_softplus(x)


def _mish_prime(x: float, p: float) -> float:
    # f' = t + x σ(x) (1 − t²), t = tanh(softplus(x)), since softplus' = σ
    t = _mish_tanh_softplus(x)
    sig = 1.0 / (1.0 + math.exp(-x)) if x >= 0.0 else math.exp(x) / (1.0 + math.exp(x))
    return t + x * sig * (1.0 - t * t)


# --- the registry ----------------------------------------------------------------------


@dataclass(eq=False)
class Nonlinearity:
    """A nonlinearity f, its derivative f', and what the theory needs to know of it.

    Parameters
    ----------
    name : str
        Registry name (``"tanh"``, ``"leaky_relu"``, …).
    scalar_value, scalar_derivative : callable
        Numba-compilable ``(x: float, param: float) -> float`` functions for f and f'.
    param : float
        The one parameter passed to both (e.g. the leaky-ReLU slope); 0 if unused.
    homogeneous : bool
        True if f is positively homogeneous, f(c x) = c f(x) for c > 0.
    description : str
        One line for listings.
    scalar_derivative_of_output : callable, optional
        f' written through the output, ``(y = f(a), param) -> f'(a)`` (tanh: 1 − y²).
        Where given, the walk kernels use it and save evaluating f' from scratch.
    """

    name: str
    scalar_value: ScalarFunction
    scalar_derivative: ScalarFunction
    param: float = 0.0
    homogeneous: bool = False
    description: str = ""
    scalar_derivative_of_output: ScalarFunction | None = None
    _compiled: tuple | None = field(default=None, init=False, repr=False)
    _compiled_of_output: object | None = field(default=None, init=False, repr=False)

    @property
    def compiled(self) -> tuple:
        """``(value_cfunc, derivative_cfunc)``: the first-class functions kernels take."""
        if self._compiled is None:
            self._compiled = (_compile(self.scalar_value), _compile(self.scalar_derivative))
        return self._compiled

    @property
    def kernel_functions(self) -> tuple:
        """``(f, f', of_output)`` for the walk kernels: f' takes f(a) when ``of_output``."""
        value, derivative = self.compiled
        if self.scalar_derivative_of_output is None:
            return value, derivative, False
        if self._compiled_of_output is None:
            self._compiled_of_output = _compile(self.scalar_derivative_of_output)
        return value, self._compiled_of_output, True

    @property
    def label(self) -> str:
        """Name with the parameter where the nonlinearity has one, e.g. ``leaky_relu:0.01``."""
        return f"{self.name}:{self.param:g}" if self.name in _PARAMETRIC else self.name

    def with_param(self, param: float) -> Nonlinearity:
        """The same nonlinearity with another parameter value (shares the compiled code)."""
        other = Nonlinearity(
            self.name,
            self.scalar_value,
            self.scalar_derivative,
            float(param),
            self.homogeneous,
            self.description,
            self.scalar_derivative_of_output,
        )
        other._compiled = self._compiled
        other._compiled_of_output = self._compiled_of_output
        return other

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """f applied elementwise to an array (any shape), as float64."""
        return _apply_elementwise(self.compiled[0], x, self.param)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """f' applied elementwise to an array (any shape), as float64."""
        return _apply_elementwise(self.compiled[1], x, self.param)


def _compile(function: ScalarFunction):
    """``numba.cfunc`` of a scalar function, cached on disk when it lives in a file."""
    try:
        return nb.cfunc(SCALAR_SIGNATURE, cache=True)(function)
    except RuntimeError as exc:
        if "cannot cache" not in str(exc):
            raise
        # defined interactively or as a lambda in a string: compile without a disk cache
        return nb.cfunc(SCALAR_SIGNATURE)(function)


@nb.njit(cache=True, nogil=True)
def _apply_kernel(fn, x, param, out):  # pragma: no cover - compiled
    for i in range(x.size):
        out[i] = fn(x[i], param)


def _apply_elementwise(fn, x: np.ndarray, param: float) -> np.ndarray:
    arr = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(arr)
    _apply_kernel(fn, arr.reshape(-1), float(param), out.reshape(-1))
    return out


_REGISTRY: dict[str, Nonlinearity] = {}
_PARAMETRIC = {"leaky_relu", "elu"}


def register_nonlinearity(
    name: str,
    value: ScalarFunction,
    derivative: ScalarFunction,
    *,
    param: float = 0.0,
    homogeneous: bool = False,
    description: str = "",
    overwrite: bool = False,
) -> Nonlinearity:
    """Register a nonlinearity so that its name works everywhere a built-in name does.

    Parameters
    ----------
    name : str
        The name to use (``--nonlinearity NAME`` in the CLI).
    value, derivative : callable
        Numba-compilable scalar functions ``(x, param) -> float`` for f and f'. They are
        compiled with ``numba.cfunc`` to ``float64(float64, float64)``.
    param : float, optional
        Default parameter passed to both functions.
    homogeneous : bool, optional
        True if f(c x) = c f(x) for every c > 0; lets the solver skip root finding.
    description : str, optional
        One line shown in listings.
    overwrite : bool, optional
        Replace an existing registration of the same name.

    Returns
    -------
    Nonlinearity
        The registered object (already compiled, so a bad function fails here).
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise RwinitError(
            f"a nonlinearity name must be a non-empty string without ':', got {name!r}"
        )
    if name in _REGISTRY and not overwrite:
        raise RwinitError(f"nonlinearity {name!r} is already registered (pass overwrite=True)")
    nl = Nonlinearity(name, value, derivative, float(param), bool(homogeneous), description)
    try:
        _ = nl.compiled  # compile now so that a function Numba cannot compile fails here
    except Exception as exc:  # numba raises many error types
        raise RwinitError(
            f"nonlinearity {name!r}: value and derivative must be Numba-compilable "
            f"functions (x: float, param: float) -> float ({type(exc).__name__})"
        ) from exc
    _REGISTRY[name] = nl
    return nl


def available_nonlinearities() -> tuple[str, ...]:
    """Names of every registered nonlinearity, built-in ones first."""
    return tuple(_REGISTRY)


def get_nonlinearity(spec: str | Nonlinearity, param: float | None = None) -> Nonlinearity:
    """Look up a nonlinearity by name.

    Parameters
    ----------
    spec : str or Nonlinearity
        A registered name, optionally with its parameter after a colon
        (``"leaky_relu:0.2"``, ``"elu:0.5"``), or a :class:`Nonlinearity` (returned as is).
    param : float, optional
        Overrides the parameter.

    Raises
    ------
    RwinitError
        For an unknown name; the message lists the known ones.
    """
    if isinstance(spec, Nonlinearity):
        return spec if param is None else spec.with_param(param)
    if not isinstance(spec, str):
        raise RwinitError(f"nonlinearity must be a name, got {spec!r}")
    name, _, param_text = spec.partition(":")
    if name not in _REGISTRY:
        raise RwinitError(
            f"unknown nonlinearity {name!r}; known: {', '.join(available_nonlinearities())}"
        )
    nl = _REGISTRY[name]
    if param_text:
        try:
            value = float(param_text)
        except ValueError:
            raise RwinitError(f"nonlinearity parameter must be a number, got {spec!r}") from None
        if not math.isfinite(value):
            raise RwinitError(f"nonlinearity parameter must be finite, got {spec!r}")
        nl = nl.with_param(value)
    if param is not None:
        nl = nl.with_param(param)
    return nl


def _register_builtins() -> None:
    of_output = {
        "tanh": _tanh_prime_of_output,
        "sigmoid": _sigmoid_prime_of_output,
        "selu": _selu_prime_of_output,
        "relu6": _relu6_prime_of_output,
        "hardtanh": _hardtanh_prime_of_output,
        "hardsigmoid": _hardsigmoid_prime_of_output,
    }
    builtins = [
        ("linear", _linear, _linear_prime, 0.0, True, "f(x) = x"),
        ("relu", _relu, _relu_prime, 0.0, True, "f(x) = max(x, 0)"),
        ("leaky_relu", _leaky_relu, _leaky_relu_prime, 0.01, True,
         "f(x) = x for x > 0, p x otherwise (slope p, default 0.01)"),
        ("tanh", _tanh, _tanh_prime, 0.0, False, "f(x) = tanh(x)"),
        ("sigmoid", _sigmoid, _sigmoid_prime, 0.0, False, "f(x) = 1 / (1 + exp(-x))"),
        ("elu", _elu, _elu_prime, 1.0, False, "f(x) = x for x > 0, p (exp(x) - 1) otherwise"),
        ("selu", _selu, _selu_prime, 0.0, False, "scaled ELU (Klambauer et al. 2017)"),
        ("gelu", _gelu, _gelu_prime, 0.0, False, "f(x) = x Phi(x), exact erf form"),
        ("silu", _silu, _silu_prime, 0.0, False, "f(x) = x sigmoid(x) (swish)"),
        ("softplus", _softplus, _softplus_prime, 0.0, False, "f(x) = log(1 + exp(x))"),
        # the activations of mobile and detection networks (PyTorch's definitions); the
        # shipped tables cover the ten above (TABLE_NONLINEARITIES), these are computed
        ("relu6", _relu6, _relu6_prime, 0.0, False, "f(x) = min(max(x, 0), 6)"),
        ("hardtanh", _hardtanh, _hardtanh_prime, 0.0, False, "f(x) = min(max(x, -1), 1)"),
        ("hardsigmoid", _hardsigmoid, _hardsigmoid_prime, 0.0, False,
         "f(x) = min(max(x/6 + 1/2, 0), 1)"),
        ("hardswish", _hardswish, _hardswish_prime, 0.0, False,
         "f(x) = x min(max(x + 3, 0), 6) / 6"),
        ("mish", _mish, _mish_prime, 0.0, False, "f(x) = x tanh(softplus(x))"),
    ]
    for name, value, derivative, param, homogeneous, description in builtins:
        _REGISTRY[name] = Nonlinearity(
            name, value, derivative, param, homogeneous, description, of_output.get(name)
        )


_register_builtins()
BUILTIN_NONLINEARITIES: tuple[str, ...] = tuple(_REGISTRY)

#: The built-in nonlinearities the shipped gain tables cover (rwinit/data/*.csv, made by
#: scripts/make_default_table.py and scripts/make_depth_table.py); a request for another
#: one is computed, as a width outside a table is.
TABLE_NONLINEARITIES: tuple[str, ...] = ("linear", "relu", "leaky_relu", "tanh", "sigmoid",
                                          "elu", "selu", "gelu", "silu", "softplus")
