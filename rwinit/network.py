"""The network description: widths, nonlinearities, biases and input statistics, parsed once.

A depth-D multilayer perceptron (docs/design.md, § The model; Sussillo & Abbott,
arXiv:1412.6558, §2) has widths n_0 (the data's dimension) … n_D (the read-out) and

    a_d = σ_d W_d x_{d-1} + b_d,   x_d = f_d(a_d),   σ_d = g_d / √n_{d-1},   d = 1 … D,

with W_d of shape (n_d, n_{d-1}) and i.i.d. standard normal entries, b_d ~ N(0, β_d² I),
and inputs x_0 of per-dimension mean μ and variance v. :class:`Network` holds exactly
that (the gains g_d are what rwinit computes for it) as one immutable, validated,
hashable object. It is built once at the boundary — the CLI, the API or a framework
adapter — and the per-layer solver, the global-multiplier solver, the report and the
cache all take it, so no nonlinearity string is parsed twice.

Nonlinearity specifications
---------------------------
Each layer's nonlinearity is given as

* a :class:`rwinit.nonlinearities.Nonlinearity` (used as is);
* a registered name, with its parameter after a colon where it has one: ``"tanh"``,
  ``"elu:0.5"``, ``"leaky_relu:0.2"`` (see :func:`rwinit.available_nonlinearities`);
* ``"package.module:function"``, a function importable by the user
  (see :func:`import_nonlinearity` for what it must provide).

Examples
--------
>>> from rwinit.network import Network
>>> net = Network([784, 512, 512, 10], ["relu", "relu", "linear"])
>>> net.depth, net.fan_in
(3, (784, 512, 512))
>>> Network.from_spec("784-relu-512x2-linear-10") == net
True
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import RwinitError
from .nonlinearities import (
    BUILTIN_NONLINEARITIES,
    Nonlinearity,
    available_nonlinearities,
    get_nonlinearity,
)
from .validation import check_positive_int

#: Relative step h of the central difference f'(x) ≈ (f(x + h) − f(x − h)) / (2h),
#: h = FINITE_DIFFERENCE_STEP · max(1, |x|), used for an imported f without a derivative.
#: Its truncation error is ~h² f''' / 6 ≈ 1e-11 and its rounding error ~1e-16 / h ≈ 1e-11
#: for smooth f of order one.
FINITE_DIFFERENCE_STEP: float = 6e-6

_IMPORT_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


# --- nonlinearities --------------------------------------------------------------------


def _finite_difference(value: Callable[[float, float], float]) -> Callable[[float, float], float]:
    """f' by a central difference of ``value`` (Numba-compilable when ``value`` is)."""
    from ._jit import nb

    f = nb.njit(value)
    step = FINITE_DIFFERENCE_STEP

    def derivative(x: float, p: float) -> float:
        h = step * max(1.0, abs(x))
        return (f(x + h, p) - f(x - h, p)) / (2.0 * h)

    return derivative


def import_nonlinearity(spec: str) -> Nonlinearity:
    """Import a user's nonlinearity given as ``"package.module:name"``.

    ``name`` must be one of

    * a :class:`~rwinit.nonlinearities.Nonlinearity` (e.g. the return value of
      :func:`rwinit.register_nonlinearity`), used as is;
    * a scalar function ``f(x: float, p: float) -> float`` that Numba can compile
      (``p`` is an unused parameter slot, 0). Its derivative is the function
      ``name + "_prime"`` of the same module when there is one, with the same signature;
      otherwise the central difference f'(x) ≈ (f(x + h) − f(x − h)) / (2h),
      h = :data:`FINITE_DIFFERENCE_STEP` · max(1, |x|) (accurate to ~1e-10 for smooth f;
      at a kink it gives the average of the two one-sided slopes).

    The nonlinearity is treated as not positively homogeneous (the solver finds its gain
    by root finding). It is not registered: its name is the spec itself.

    Raises
    ------
    RwinitError
        The module cannot be imported, has no such attribute, or the function does not
        compile with Numba.
    """
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RwinitError(f"cannot import module {module_name!r} for nonlinearity {spec!r}: "
                          f"{exc}") from None
    obj = getattr(module, attr, None)
    if obj is None:
        raise RwinitError(f"module {module_name!r} has no attribute {attr!r} (nonlinearity "
                          f"{spec!r})")
    if isinstance(obj, Nonlinearity):
        return obj
    if not callable(obj):
        raise RwinitError(f"{spec!r} must be a function f(x, p) -> float or a Nonlinearity")
    derivative = getattr(module, attr + "_prime", None)
    if derivative is not None and not callable(derivative):
        raise RwinitError(f"{module_name}.{attr}_prime must be a function f'(x, p) -> float")
    nl = Nonlinearity(spec, obj, derivative or _finite_difference(obj),
                      description=f"imported from {spec}" + (
                          "" if derivative else " (f' by central difference)"))
    try:
        _ = nl.compiled
    except Exception as exc:  # numba raises many error types
        raise RwinitError(
            f"nonlinearity {spec!r}: f (and f') must be Numba-compilable scalar functions "
            f"(x: float, p: float) -> float ({type(exc).__name__})"
        ) from None
    return nl


def parse_nonlinearity(spec: str | Nonlinearity) -> Nonlinearity:
    """One layer's nonlinearity from a name, ``name:param``, ``module:function`` or object.

    A name before the colon that is registered wins (``elu:0.5`` is ELU with α = 0.5);
    otherwise ``module:function`` is imported (:func:`import_nonlinearity`).
    """
    if isinstance(spec, Nonlinearity):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise RwinitError(f"a nonlinearity must be a name, got {spec!r}; known: "
                          f"{', '.join(available_nonlinearities())}")
    spec = spec.strip()
    name = spec.partition(":")[0]
    if name in available_nonlinearities():
        return get_nonlinearity(spec)
    if _IMPORT_SPEC.match(spec):
        return import_nonlinearity(spec)
    raise RwinitError(f"unknown nonlinearity {spec!r}; known: "
                      f"{', '.join(available_nonlinearities())}, or module:function")


def _code_fingerprint(function: Callable) -> str:
    """A short hash of a Python function's byte code and constants (for cache keys)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return repr(function)
    text = code.co_code + repr(code.co_consts).encode() + repr(code.co_names).encode()
    return hashlib.sha256(text).hexdigest()[:16]


def nonlinearity_key(nl: Nonlinearity) -> str:
    """A canonical text for a nonlinearity: its label, plus a hash of the code of a
    user-defined one (so that editing a custom f invalidates cached answers)."""
    if nl.name in BUILTIN_NONLINEARITIES:
        return nl.label
    return (f"{nl.name}:{nl.param!r}@{_code_fingerprint(nl.scalar_value)}"
            f"/{_code_fingerprint(nl.scalar_derivative)}")


# --- numbers ---------------------------------------------------------------------------


def _per_layer(value: object, length: int, what: str, *, positive: bool = False
               ) -> tuple[float, ...]:
    """A scalar broadcast to ``length`` values, or a sequence of exactly ``length``."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise RwinitError(f"{what} must be a number or {length} numbers, got {value!r}") from None
    if arr.ndim == 0:
        arr = np.full(length, float(arr))
    if arr.ndim != 1 or arr.size != length:
        raise RwinitError(f"{what} must be a number or {length} numbers, got "
                          f"{arr.size} values")
    if not np.all(np.isfinite(arr)):
        raise RwinitError(f"{what} must be finite, got {value!r}")
    if np.any(arr < 0) or (positive and np.any(arr <= 0)):
        bound = "> 0" if positive else ">= 0"
        raise RwinitError(f"{what} must be {bound}, got {value!r}")
    return tuple(float(x) for x in arr)


def _input_stat(value: object, n0: int, what: str, *, nonnegative: bool) -> float | tuple:
    """A scalar, or n_0 per-dimension values (kept as a tuple)."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise RwinitError(f"{what} must be a number or {n0} numbers, got {value!r}") from None
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size != n0):
        raise RwinitError(f"{what} must be a number or one per input dimension ({n0}), got "
                          f"shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise RwinitError(f"{what} must be finite")
    if nonnegative and np.any(arr < 0):
        raise RwinitError(f"{what} must be >= 0")
    if arr.ndim == 0:
        return float(arr)
    if np.all(arr == arr[0]):
        return float(arr[0])  # a constant vector is the scalar (one canonical form)
    return tuple(float(x) for x in arr)


# --- the network -----------------------------------------------------------------------


class Network:
    """An MLP's architecture and input statistics: immutable, validated, hashable.

    Parameters
    ----------
    widths : sequence of int
        n_0 … n_D: the input dimension, then the output width of each of the D weight
        layers (the last is the read-out). Each >= 1, at least two values.
    nonlinearities : str, Nonlinearity or sequence of them
        f_1 … f_D, one per weight layer (the read-out's is usually ``"linear"``), each as
        in :func:`parse_nonlinearity`. A single value is used for every layer.
    bias_std : float or sequence of D floats
        β_d, the standard deviation of layer d's biases (0: no bias).
    input_mean, input_var : float or sequence of n_0 floats
        Mean μ and variance v of each input dimension (default: zero mean, unit variance).
        See :meth:`with_input_batch` to take them from a sample of the data.

    Raises
    ------
    RwinitError
        A width < 1, fewer than two widths, an unknown nonlinearity (the message lists the
        known ones), a length that does not match the depth or the input dimension, or a
        number that is not finite or out of range.
    """

    __slots__ = ("widths", "nonlinearities", "bias_std", "input_mean", "input_var", "_key")

    widths: tuple[int, ...]
    nonlinearities: tuple[Nonlinearity, ...]
    bias_std: tuple[float, ...]
    input_mean: float | tuple[float, ...]
    input_var: float | tuple[float, ...]

    def __init__(
        self,
        widths: Sequence[int],
        nonlinearities: str | Nonlinearity | Sequence[str | Nonlinearity],
        bias_std: float | Sequence[float] = 0.0,
        input_mean: float | Sequence[float] = 0.0,
        input_var: float | Sequence[float] = 1.0,
    ) -> None:
        if isinstance(widths, str | bytes) or not hasattr(widths, "__len__"):
            raise RwinitError(f"widths must be a list of whole numbers n_0..n_D, got {widths!r}")
        if len(widths) < 2:
            raise RwinitError(f"widths must list the input and at least one layer (depth >= 1), "
                              f"got {list(widths)!r}")
        w = tuple(check_positive_int(n, f"width n_{i}") for i, n in enumerate(widths))
        depth = len(w) - 1
        if isinstance(nonlinearities, str | Nonlinearity):
            nls = (parse_nonlinearity(nonlinearities),) * depth
        else:
            specs = list(nonlinearities)
            if len(specs) != depth:
                raise RwinitError(f"{depth} weight layers (widths {'-'.join(map(str, w))}) "
                                  f"need {depth} nonlinearities, got {len(specs)}")
            nls = tuple(parse_nonlinearity(s) for s in specs)
        set_ = object.__setattr__
        set_(self, "widths", w)
        set_(self, "nonlinearities", nls)
        set_(self, "bias_std", _per_layer(bias_std, depth, "bias_std"))
        set_(self, "input_mean", _input_stat(input_mean, w[0], "input_mean", nonnegative=False))
        set_(self, "input_var", _input_stat(input_var, w[0], "input_var", nonnegative=True))
        # per-input statistics stay scalars where they were given as one (no n_0 array)
        if not (np.any(np.asarray(self.input_mean) != 0)
                or np.any(np.asarray(self.input_var) > 0)):
            raise RwinitError("the inputs are identically zero (input_mean = input_var = 0)")
        set_(self, "_key", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Network is immutable; build a new one")

    # --- constructors -----------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> Network:
        """A network from the compact spec ``n_0-f_1-n_1-f_2-…-f_D-n_D``.

        Widths and nonlinearities alternate, separated by ``-``, starting and ending with
        a width; ``WxK`` repeats the layer before it K times (the same nonlinearity, width
        W). ``784-relu-512x2-linear-10`` is 784 → ReLU 512 → ReLU 512 → linear 10.
        Nonlinearities are as in :func:`parse_nonlinearity` (``elu:0.5``,
        ``leaky_relu:-0.1``, ``mypkg.acts:swish``). ``kwargs`` go to :class:`Network`.
        """
        if not isinstance(spec, str) or not spec.strip():
            raise RwinitError(f"a network spec must be text like 784-relu-512-linear-10, "
                              f"got {spec!r}")
        tokens = [t.strip() for t in re.split(r"(?<!:)-", spec.strip())]
        if len(tokens) < 3 or len(tokens) % 2 == 0:
            raise RwinitError(f"network spec {spec!r} must alternate widths and "
                              "nonlinearities, e.g. 784-relu-512x2-linear-10")
        widths = [_spec_width(tokens[0], spec, allow_repeat=False)[0]]
        nls: list[str] = []
        for act, width_token in zip(tokens[1::2], tokens[2::2], strict=True):
            if re.fullmatch(r"\d+(x\d+)?", act):
                raise RwinitError(f"network spec {spec!r}: expected a nonlinearity, got "
                                  f"{act!r} (widths and nonlinearities alternate)")
            n, repeat = _spec_width(width_token, spec, allow_repeat=True)
            widths += [n] * repeat
            nls += [act] * repeat
        return cls(widths, nls, **kwargs)

    def with_input_batch(self, batch: Any) -> Network:
        """The same network with μ and v estimated from a sample batch of inputs.

        ``batch`` has shape (samples, n_0) (anything ``numpy.asarray`` takes, e.g. a
        CPU tensor); μ and v are its per-dimension mean and (ddof = 1) variance.
        """
        x = np.asarray(batch, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.widths[0]:
            raise RwinitError(f"an input batch must have shape (samples, {self.widths[0]}), "
                              f"got {x.shape}")
        if x.shape[0] < 2:
            raise RwinitError("an input batch needs at least two samples to estimate a variance")
        if not np.all(np.isfinite(x)):
            raise RwinitError("the input batch contains NaN or infinite values")
        return self.replace(input_mean=x.mean(axis=0), input_var=x.var(axis=0, ddof=1))

    def replace(self, **changes: Any) -> Network:
        """A copy with some constructor arguments changed."""
        args = dict(widths=self.widths, nonlinearities=self.nonlinearities,
                    bias_std=self.bias_std, input_mean=self.input_mean,
                    input_var=self.input_var)
        unknown = set(changes) - set(args)
        if unknown:
            raise RwinitError(f"unknown Network field(s) {', '.join(sorted(unknown))}; "
                              f"accepted: {', '.join(args)}")
        args.update(changes)
        return Network(**args)

    # --- derived quantities ---------------------------------------------------------

    @property
    def depth(self) -> int:
        """D, the number of weight layers (the read-out included)."""
        return len(self.widths) - 1

    @property
    def fan_in(self) -> tuple[int, ...]:
        """n_{d-1} for d = 1 … D (weight std of layer d is g_d / √fan_in[d-1])."""
        return self.widths[:-1]

    @property
    def fan_out(self) -> tuple[int, ...]:
        """n_d for d = 1 … D."""
        return self.widths[1:]

    @property
    def labels(self) -> tuple[str, ...]:
        """The nonlinearities' labels (``tanh``, ``elu:0.5``, ``pkg.mod:f``)."""
        return tuple(nl.label for nl in self.nonlinearities)

    @property
    def input_mean_array(self) -> np.ndarray:
        """μ as an (n_0,) array."""
        return np.broadcast_to(np.asarray(self.input_mean, dtype=float), (self.widths[0],))

    @property
    def input_var_array(self) -> np.ndarray:
        """v as an (n_0,) array."""
        return np.broadcast_to(np.asarray(self.input_var, dtype=float), (self.widths[0],))

    @property
    def input_std(self) -> float | np.ndarray:
        """√v as a scalar or (n_0,) array."""
        if isinstance(self.input_var, float):
            return math.sqrt(self.input_var)
        return np.sqrt(np.asarray(self.input_var))

    @property
    def is_square(self) -> bool:
        """True when every width (input included) is the same."""
        return len(set(self.widths)) == 1

    @property
    def default_input(self) -> bool:
        """True for zero-mean, unit-variance inputs."""
        return self.input_mean == 0.0 and self.input_var == 1.0

    def spec(self) -> str:
        """The compact spec (:meth:`from_spec`) of the architecture, runs collapsed."""
        parts = [str(self.widths[0])]
        d = 0
        while d < self.depth:
            run = 1
            while (d + run < self.depth and self.widths[d + run + 1] == self.widths[d + 1]
                   and self.labels[d + run] == self.labels[d]):
                run += 1
            parts += [self.labels[d], f"{self.widths[d + 1]}" + (f"x{run}" if run > 1 else "")]
            d += run
        return "-".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (per-dimension input statistics as lists)."""
        def plain(v: Any) -> Any:
            return list(v) if isinstance(v, tuple) else v

        bias = self.bias_std[0] if len(set(self.bias_std)) == 1 else list(self.bias_std)
        return {"widths": list(self.widths), "nonlinearities": list(self.labels),
                "spec": self.spec(), "bias_std": bias,
                "input_mean": plain(self.input_mean), "input_var": plain(self.input_var)}

    @property
    def key(self) -> str:
        """A canonical SHA-256 (hex) of everything that defines the network: widths,
        nonlinearities (with parameters, and a code hash for user-defined ones), biases
        and input statistics. Equal networks have equal keys."""
        if self._key is None:
            canon = {"widths": list(self.widths),
                     "nonlinearities": [nonlinearity_key(nl) for nl in self.nonlinearities],
                     "bias_std": [repr(b) for b in self.bias_std],
                     "input_mean": _canon_stat(self.input_mean),
                     "input_var": _canon_stat(self.input_var)}
            text = json.dumps(canon, sort_keys=True, separators=(",", ":"))
            object.__setattr__(self, "_key", hashlib.sha256(text.encode()).hexdigest())
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and other.key == self.key

    def __reduce__(self) -> tuple:
        # rebuilt through __init__ (pickle, copy): built-in nonlinearities by label
        nls = tuple(nl.label if nl.name in BUILTIN_NONLINEARITIES else nl
                    for nl in self.nonlinearities)
        return (Network, (self.widths, nls, self.bias_std, self.input_mean, self.input_var))

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        extra = ""
        if any(self.bias_std):
            extra += f", bias_std={self.to_dict()['bias_std']!r}"
        if not self.default_input:
            extra += ", input statistics given"
        return f"Network({self.spec()!r}{extra})"


def _canon_stat(value: float | tuple[float, ...]) -> Any:
    if isinstance(value, tuple):
        return hashlib.sha256(np.asarray(value, dtype=float).tobytes()).hexdigest()
    return repr(float(value))


def _spec_width(token: str, spec: str, *, allow_repeat: bool) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)(?:x(\d+))?", token)
    if m is None or (m.group(2) is not None and not allow_repeat):
        form = "a width W or WxK (K layers of width W)" if allow_repeat else "a width"
        raise RwinitError(f"network spec {spec!r}: expected {form}, got {token!r}")
    n = int(m.group(1))
    repeat = int(m.group(2) or 1)
    if n < 1 or repeat < 1:
        raise RwinitError(f"network spec {spec!r}: widths and repeats must be >= 1, "
                          f"got {token!r}")
    return n, repeat


def as_network(obj: Network | str) -> Network:
    """``obj`` if it is a :class:`Network`, else :meth:`Network.from_spec` of it."""
    if isinstance(obj, Network):
        return obj
    if isinstance(obj, str):
        return Network.from_spec(obj)
    raise RwinitError(f"expected a Network or a spec like 784-relu-512-linear-10, got "
                      f"{type(obj).__name__}")


__all__ = ["FINITE_DIFFERENCE_STEP", "Network", "as_network", "import_nonlinearity",
           "nonlinearity_key", "parse_nonlinearity"]
