"""``rwinit net``: gains for a whole MLP, their CIs, and how |δ| moves through it.

The network is given either as a compact spec, widths and nonlinearities alternating
(``784-relu-512x2-linear-10``: ``WxK`` repeats the layer before it K times), or as
``--widths 784,512,512,10 --activations relu,relu,linear``. A nonlinearity is a
registered name (``tanh``, ``elu:0.5``) or ``package.module:function`` importable by the
user (see :func:`rwinit.network.import_nonlinearity`).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from ..errors import RwinitError
from ..validation import MODELS, check_output_file
from ._common import emit_json, float_arg, int_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "net",
        help="gains for a whole MLP (any widths and activations) and its walk report",
        description=(
            "Gains for every weight layer of an MLP: one multiplier making the whole walk "
            "of ln|δ| driftless (default), or per-layer gains (--per-layer); with a report "
            "of E ln(|δ_d|/|δ_D|) ± 1 s.d. for these gains and PyTorch's default, He, "
            "Glorot and LeCun. Example: rwinit net 784-relu-512x2-linear-10"),
    )
    p.add_argument("spec", nargs="?", metavar="SPEC",
                   help="compact spec: widths and activations alternating, e.g. "
                        "784-relu-512x2-linear-10 (WxK = K layers of width W)")
    p.add_argument("--widths", metavar="N0,N1,...", help="widths n_0..n_D, comma-separated")
    p.add_argument("--activations", metavar="F1,...",
                   help="one nonlinearity per weight layer (name, name:param or "
                        "module:function), comma-separated")
    p.add_argument("--per-layer", action="store_true",
                   help="a gain per layer (each E ln z_d = 0 given the layers below)")
    p.add_argument("--model", default="network", metavar="|".join(MODELS),
                   help="propagation model (default: network = true backprop)")
    p.add_argument("--bias-std", default="0", metavar="S[,S...]",
                   help="bias std: one value, or one per weight layer")
    p.add_argument("--input-mean", type=float_arg("input-mean"), default=0.0, metavar="MU",
                   help="mean of every input dimension")
    p.add_argument("--input-var", type=float_arg("input-var"), default=1.0, metavar="V",
                   help="variance of every input dimension")
    p.add_argument("--input-batch", metavar="FILE",
                   help="a sample of the inputs (.npy, or text readable by numpy.loadtxt) "
                        "of shape (samples, n_0): per-dimension mean and variance")
    p.add_argument("--samples", "-M", type=int_arg("samples"), metavar="M",
                   help="Monte Carlo samples (default: enough for --ci-halfwidth)")
    p.add_argument("--ci-halfwidth", type=float_arg("ci-halfwidth"), metavar="H",
                   help="target 95%% CI half-width of the gains (default 0.005)")
    p.add_argument("--seed", type=int_arg("seed"), default=0, metavar="S")
    p.add_argument("--threads", type=int_arg("threads"), metavar="T")
    p.add_argument("--no-report", action="store_true", help="skip the per-layer report")
    p.add_argument("--report-samples", type=int_arg("report-samples"), default=1000,
                   metavar="M", help="networks sampled per scheme in the report (1000)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--plot", metavar="FILE", help="save the report as a figure (png, pdf, svg)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _bias(text: str) -> float | list[float]:
    try:
        values = [float(t) for t in _split(text)]
    except ValueError:
        raise RwinitError(f"--bias-std must be a number or comma-separated numbers, got "
                          f"{text!r}") from None
    if not values:
        raise RwinitError("--bias-std must be a number or comma-separated numbers")
    return values[0] if len(values) == 1 else values


def _read_batch(path: str) -> np.ndarray:
    file = Path(path)
    if not file.is_file():
        raise RwinitError(f"--input-batch: no such file {path!r}")
    try:
        data = np.load(file) if file.suffix == ".npy" else np.loadtxt(file, delimiter=None,
                                                                        ndmin=2)
    except (OSError, ValueError) as exc:
        raise RwinitError(f"--input-batch: cannot read {path!r} ({exc})") from None
    return np.asarray(data, dtype=float)


def build_network(args: argparse.Namespace):
    """The :class:`rwinit.network.Network` the arguments describe (parsed once, here)."""
    from ..network import Network

    kw = dict(bias_std=_bias(args.bias_std), input_mean=args.input_mean,
              input_var=args.input_var)
    if args.spec is not None:
        if args.widths or args.activations:
            raise RwinitError("give the network either as SPEC or as --widths/--activations, "
                              "not both")
        net = Network.from_spec(args.spec, **kw)
    else:
        if not (args.widths and args.activations):
            raise RwinitError("give the network as SPEC (e.g. 784-relu-512x2-linear-10) or "
                              "as --widths 784,512,512,10 --activations relu,relu,linear")
        try:
            widths = [int(t) for t in _split(args.widths)]
        except ValueError:
            raise RwinitError(f"--widths must be comma-separated whole numbers, got "
                              f"{args.widths!r}") from None
        net = Network(widths, _split(args.activations), **kw)
    if args.input_batch:
        net = net.with_input_batch(_read_batch(args.input_batch))
    return net


def run(args: argparse.Namespace) -> int:
    from ..network_gain import NoDriftlessGainWarning, network_gains

    net = build_network(args)
    if args.plot and args.no_report:
        raise RwinitError("--plot needs the report; drop --no-report")
    if args.plot:
        # before the solve, so that a bad path never costs the Monte Carlo
        check_output_file(args.plot, "--plot", suffixes=(".png", ".pdf", ".svg"))
    with warnings.catch_warnings():  # the text below says it, once, in its own words
        warnings.simplefilter("ignore", NoDriftlessGainWarning)
        result = network_gains(net, model=args.model, per_layer=args.per_layer,
                               seed=args.seed, ci_halfwidth=args.ci_halfwidth,
                               samples=args.samples, report=not args.no_report,
                               report_samples=args.report_samples, cache=not args.no_cache,
                               threads=args.threads, progress=not args.quiet)
    if args.plot:
        result.report.plot(args.plot)
    if args.json:
        emit_json(result.to_dict())
        return 0
    print(format_result(result))
    if args.plot:
        print(f"plot saved to {args.plot}")
    return 0


def format_result(result) -> str:
    """The text the command prints: gains with CIs, per-layer spread, the report."""
    net = result.network
    pct = f"{100 * result.confidence:.0f}%"
    lines = [f"network {net.spec()}: {net.depth} weight layers, {result.model} model, "
             f"{result.method} gains"]
    if result.multiplier is not None and "max-drift" in result.layer_methods:
        lines.append(f"multiplier g = {result.multiplier:.5f}  (no driftless gain: the gain "
                     "of largest drift, no CI)")
    elif result.multiplier is not None:
        lo, hi = result.multiplier_ci
        lines.append(f"multiplier g = {result.multiplier:.5f}  SE {result.multiplier_se:.2g}, "
                     f"{pct} CI [{lo:.5f}, {hi:.5f}]")
        if result.layer_methods[-1] == "exact":
            lines.append(f"read-out (linear): its exact gain {result.layer_gains[-1]:.5f}, "
                         "E ln z_D = 0 whatever the layers below")
    lines.append(f"{'layer':>5} {'fan_in':>7} {'fan_out':>7}  {'f':<12} {'g_d':>9} "
                 f"{pct + ' CI':>21} {'std':>10} {'sd ln z_d':>9}  method")
    for d in range(net.depth):
        lo, hi = result.layer_ci_low[d], result.layer_ci_high[d]
        ci = f"[{lo:.4f}, {hi:.4f}]" if lo == lo else "none"
        lines.append(f"{d + 1:>5} {net.fan_in[d]:>7} {net.fan_out[d]:>7}  "
                     f"{net.labels[d]:<12.12} {result.layer_gains[d]:>9.5f} {ci:>21} "
                     f"{result.layer_stds[d]:>10.3e} {result.log_z_sd[d]:>9.4f}  "
                     f"{result.layer_methods[d]}")
    lines.append("weights: std_d = g_d / sqrt(fan_in_d)")
    if result.report is not None:
        lines += ["", result.report.text()]
    if result.warning:
        lines.append(f"warning: {result.warning}")
    source = "cache" if result.cached else f"computed in {result.seconds:.1f} s"
    lines.append(f"({result.samples} samples, seed {result.seed}; {source})")
    return "\n".join(lines)
