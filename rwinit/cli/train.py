"""``rwinit train``: train a deep fully connected network with a chosen gain."""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from ..errors import RwinitError
from ..validation import (
    check_choice,
    check_depth,
    check_gain,
    check_memory,
    check_nonnegative,
    check_output_file,
    check_positive_int,
    check_range,
    check_width,
)
from ._common import emit_json, float_arg, int_arg

INITS: tuple[str, ...] = (
    "random_walk", "classic_uniform", "glorot_uniform", "glorot_normal", "he_normal",
    "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal", "sparse", "lsuv",
)
SCHEDULES: tuple[str, ...] = ("constant", "linear", "exponential")


#: Optimizer state arrays per parameter array (for the memory estimate).
OPTIMIZER_SLOTS: dict[str, int] = {
    "sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1,
    "rmsprop_nesterov": 2, "adam": 2,
}
MOMENTUM_OPTIMIZERS: tuple[str, ...] = ("momentum", "nesterov", "rmsprop_nesterov")
DEFAULT_DECAY_RATE: float = 0.95


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a deep network to test a gain",
        description="Train a deep fully connected network (NumPy) on digits, MNIST or a "
        "teacher task, with weights of std g/sqrt(fan_in). Every option is checked, and "
        "the memory the run needs and the --history file are checked, before training.",
    )
    p.add_argument("--dataset", default="digits", metavar="digits|mnist|teacher",
                   help="digits: scikit-learn's 8x8 digits; mnist: IDX files in --data-dir; "
                   "teacher: a synthetic teacher-student task")
    p.add_argument("--data-dir", metavar="DIR",
                   help="directory with the MNIST IDX files (only with --dataset mnist)")
    p.add_argument("--task", default="classify", metavar="classify|autoencode",
                   help="softmax cross-entropy on the labels, or reconstruct the input (MSE)")
    p.add_argument("--depth", "-D", type=int_arg("depth"), default=10, metavar="D",
                   help="weight layers, the last one linear")
    p.add_argument("--width", "-N", type=int_arg("width"), default=100, metavar="N",
                   help="width of every hidden layer")
    p.add_argument("--nonlinearity", "-f", default="tanh", metavar="NAME",
                   help="nonlinearity of the hidden layers")
    p.add_argument("--gain", "-g", default="auto", metavar="auto|G",
                   help="hidden-layer gain; auto = stationary network-model g* "
                   "(rwinit.optimal_gain)")
    p.add_argument("--gain-scale", type=float_arg("gain-scale"), default=1.0, metavar="S",
                   help="multiply the gain by S (e.g. 0.5 or 2 to bracket g*)")
    p.add_argument("--first-gain", type=float_arg("first-gain"), metavar="G",
                   help="gain of the first layer (default: the hidden gain)")
    p.add_argument("--output-gain", type=float_arg("output-gain"), metavar="G",
                   help="gain of the linear read-out layer (default: the hidden gain)")
    p.add_argument("--init", default="random_walk", metavar="NAME", help=", ".join(INITS))
    p.add_argument("--sparsity", type=int_arg("sparsity"), metavar="K",
                   help="non-zeros per unit, only with --init sparse (default: 15, or the "
                   "fan-in if smaller)")
    p.add_argument("--output-bias", default="zero", metavar="zero|marginal",
                   help="marginal: softmax(b) = class frequencies")
    p.add_argument("--optimizer", default="sgd", metavar="NAME",
                   help=", ".join(OPTIMIZER_SLOTS))
    p.add_argument("--lr", type=float_arg("lr"), default=0.01, metavar="LR",
                   help="learning rate (of the top layer when --lr-in is given)")
    p.add_argument("--lr-in", type=float_arg("lr-in"), metavar="LR",
                   help="depth-dependent rates: layer d gets lr*r^(D-d), first layer lr-in")
    p.add_argument("--max-depth", type=int_arg("max-depth"), metavar="D",
                   help="D_max of the depth-dependent rates, only with --lr-in "
                   "(default: --depth)")
    p.add_argument("--momentum", type=float_arg("momentum"), metavar="ALPHA",
                   help="momentum coefficient in [0, 1) for momentum, nesterov and "
                   "rmsprop_nesterov (default: 0.9)")
    p.add_argument("--schedule", default="constant", metavar="|".join(SCHEDULES),
                   help="learning-rate schedule")
    p.add_argument("--lr-final", type=float_arg("lr-final"), metavar="LR",
                   help="linear schedule: rate at step tau (default: lr/100)")
    p.add_argument("--decay-steps", type=int_arg("decay-steps"), metavar="TAU",
                   help="linear schedule: tau (default: all steps)")
    p.add_argument("--decay-rate", type=float_arg("decay-rate"), metavar="GAMMA",
                   help="exponential schedule: per-epoch factor in (0, 1] "
                   f"(default: {DEFAULT_DECAY_RATE})")
    p.add_argument("--clip", type=float_arg("clip"), metavar="C",
                   help="clip the gradient to global norm C (default: no clipping)")
    p.add_argument("--epochs", type=int_arg("epochs"), default=10, metavar="E",
                   help="passes over the training set")
    p.add_argument("--stop-error", type=float_arg("stop-error"), metavar="E",
                   help="stop once the training error has been <= E for --patience epochs "
                   "in a row (e.g. 0: every example right)")
    p.add_argument("--patience", type=int_arg("patience"), metavar="P",
                   help="epochs in a row for --stop-error (default: 10)")
    p.add_argument("--batch-size", type=int_arg("batch-size"), default=64, metavar="B",
                   help="rows per step (at most the data set's size)")
    p.add_argument("--float32", action="store_true", help="compute in float32")
    p.add_argument("--seed", type=int_arg("seed"), default=0, metavar="S",
                   help="seed of the initialization, the shuffling and the teacher task")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--history", metavar="FILE",
                   help="write the history after every epoch, atomically; the suffix picks "
                   "the format: .json (full summary) or .csv (one row per epoch)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def resolve_gain(text: str, nonlinearity: str, width: int, seed: int) -> tuple[float, str]:
    """The hidden gain: a number, or ``auto`` = stationary network-model g* (lazy import)."""
    if str(text).lower() == "auto":
        from ..solver import optimal_gain

        result = optimal_gain(nonlinearity, width, None, model="network", seed=seed)
        return float(result.g), f"auto: g* (stationary, network model, N={width})"
    try:
        value = float(text)
    except ValueError:
        raise RwinitError(f"gain must be 'auto' or a finite number > 0, got {text!r}") from None
    return check_gain(value), "given"


def _positive(value: float | None, option: str) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise RwinitError(f"{option} must be a finite number > 0, got {value!r}")


def _only_with(value: object, option: str, condition: bool, needs: str) -> None:
    if value is not None and not condition:
        raise RwinitError(f"{option} applies only with {needs}")


def validate(args: argparse.Namespace) -> None:
    """Check every option before any data is read or any work is done (one line each).

    Conflicting options are named together; see docs/design.md §Input validation and
    resources.
    """
    from ..training import optimizers
    from ..training.data import DATASETS
    from ..training.loop import TASKS

    check_depth(args.depth)
    check_width(args.width)
    check_choice(args.dataset, "data set", DATASETS)
    check_choice(args.task, "task", TASKS)
    check_choice(args.init, "initializer", INITS)
    check_choice(args.optimizer, "optimizer", optimizers.OPTIMIZERS)
    check_choice(args.schedule, "schedule", SCHEDULES)
    check_choice(args.output_bias, "output bias", ("zero", "marginal"))
    check_positive_int(args.epochs, "epochs")
    check_positive_int(args.batch_size, "batch size")
    check_positive_int(args.seed, "seed", minimum=0)
    for name in ("lr", "lr_in", "lr_final", "clip", "gain_scale"):
        _positive(getattr(args, name), f"--{name.replace('_', '-')}")
    for name in ("first_gain", "output_gain"):
        if getattr(args, name) is not None:
            check_gain(getattr(args, name), f"--{name.replace('_', '-')}")
    if str(args.gain).lower() != "auto":
        try:
            value = float(args.gain)
        except ValueError:
            raise RwinitError(f"--gain must be 'auto' or a finite number > 0, got "
                              f"{args.gain!r}") from None
        check_gain(value, "--gain")
    _only_with(args.data_dir, "--data-dir", args.dataset == "mnist",
               f"--dataset mnist (the {args.dataset} data set is built in)")
    _only_with(args.sparsity, "--sparsity", args.init == "sparse",
               f"--init sparse, not --init {args.init}")
    if args.sparsity is not None:
        check_positive_int(args.sparsity, "--sparsity")
    _only_with(args.momentum, "--momentum", args.optimizer in MOMENTUM_OPTIMIZERS,
               f"--optimizer {', '.join(MOMENTUM_OPTIMIZERS)}, not {args.optimizer}")
    if args.momentum is not None:
        check_range(args.momentum, "--momentum", 0.0, 1.0, high_open=True)
    _only_with(args.lr_final, "--lr-final", args.schedule == "linear",
               f"--schedule linear, not {args.schedule}")
    _only_with(args.decay_steps, "--decay-steps", args.schedule == "linear",
               f"--schedule linear, not {args.schedule}")
    if args.decay_steps is not None:
        check_positive_int(args.decay_steps, "--decay-steps")
    _only_with(args.decay_rate, "--decay-rate", args.schedule == "exponential",
               f"--schedule exponential, not {args.schedule}")
    if args.decay_rate is not None:
        check_range(args.decay_rate, "--decay-rate", 0.0, 1.0, low_open=True)
    _only_with(args.patience, "--patience", args.stop_error is not None, "--stop-error")
    if args.stop_error is not None:
        check_nonnegative(args.stop_error, "--stop-error")
    if args.patience is not None:
        check_positive_int(args.patience, "--patience")
    _only_with(args.max_depth, "--max-depth", args.lr_in is not None, "--lr-in")
    if args.max_depth is not None:
        check_positive_int(args.max_depth, "--max-depth")
        if args.max_depth < args.depth:
            raise RwinitError(f"--max-depth ({args.max_depth}) must be >= --depth "
                              f"({args.depth})")
    if args.output_bias == "marginal" and args.task != "classify":
        raise RwinitError("--output-bias marginal needs --task classify, not "
                          f"--task {args.task}")
    if args.history is not None:
        from ..training.loop import HISTORY_SUFFIXES

        check_output_file(args.history, "--history", HISTORY_SUFFIXES)


def check_training_memory(args: argparse.Namespace, n_in: int, n_out: int, n_rows: int) -> None:
    """Refuse, before training, a network whose training would not fit in memory."""
    from ..training.network import stack_training_memory

    slots = OPTIMIZER_SLOTS[args.optimizer] + (1 if args.clip is not None else 0)
    need = stack_training_memory(n_in, args.width, args.depth, n_out,
                                 min(args.batch_size, n_rows), n_rows, slots,
                                 4 if args.float32 else 8)
    check_memory(need, f"training depth {args.depth} x width {args.width} "
                 f"({args.optimizer}, batch {args.batch_size})",
                 "use a smaller --width or --depth")


def run(args: argparse.Namespace) -> int:
    from ..nonlinearities import get_nonlinearity
    from ..training import data as data_mod
    from ..training import optimizers, schedules
    from ..training.loop import train
    from ..training.network import Network

    validate(args)
    depth, width = args.depth, args.width
    nl = get_nonlinearity(args.nonlinearity)
    data = data_mod.load_dataset(args.dataset, args.data_dir, seed=args.seed)
    n_out = data.n_classes if args.task == "classify" else data.x.shape[1]
    check_training_memory(args, data.x.shape[1], n_out, data.x.shape[0])
    sizes = [data.x.shape[1]] + [width] * (depth - 1) + [n_out]
    g, source = resolve_gain(args.gain, nl.name if ":" not in args.nonlinearity
                             else args.nonlinearity, width, args.seed)
    g *= args.gain_scale

    net = Network(sizes, nl, dtype=np.float32 if args.float32 else np.float64)
    rng = np.random.default_rng(args.seed)
    bias = None
    if args.output_bias == "marginal":
        from ..initializers import output_bias_from_marginals

        bias = output_bias_from_marginals(data.y, data.n_classes)
    init = "orthogonal" if args.init == "lsuv" else args.init
    params = net.init_params(rng, init=init, gain=g, first_gain=args.first_gain,
                             output_gain=args.output_gain, sparsity=args.sparsity,
                             output_bias=bias)
    if args.init == "lsuv":
        from ..initializers import lsuv

        batch = data.x[rng.choice(data.x.shape[0], min(args.batch_size, data.x.shape[0]),
                                  replace=False)]
        weights = lsuv(params[0::2], params[1::2], batch, nl)
        params[0::2] = [w.astype(net.dtype) for w in weights]

    steps = args.epochs * max(data.x.shape[0] // min(args.batch_size, data.x.shape[0]), 1)
    if args.schedule == "constant":
        base = schedules.constant(args.lr)
    elif args.schedule == "linear":
        base = schedules.linear_decay(args.lr, args.lr_final or args.lr / 100.0,
                                      args.decay_steps or steps)
    else:
        per_epoch = max(data.x.shape[0] // min(args.batch_size, data.x.shape[0]), 1)
        rate = DEFAULT_DECAY_RATE if args.decay_rate is None else args.decay_rate
        base = schedules.exponential_decay(args.lr, rate, per_epoch)
    if args.lr_in is not None:
        rates = schedules.depth_scaled_rates(args.lr_in, args.lr, depth, args.max_depth)
        lr = schedules.per_layer(base, rates / args.lr)
    else:
        lr = base
    kwargs = {}
    if args.momentum is not None:
        kwargs["alpha"] = args.momentum
    opt = optimizers.get_optimizer(args.optimizer, lr, **kwargs)
    if args.clip is not None:
        opt = optimizers.chain(optimizers.clip_by_global_norm(args.clip), opt)

    config = {
        "dataset": data.name, "task": args.task, "depth": depth, "width": width,
        "nonlinearity": nl.label, "gain": g, "gain_source": source,
        "gain_scale": args.gain_scale, "first_gain": args.first_gain,
        "output_gain": args.output_gain, "init": args.init, "optimizer": args.optimizer,
        "lr": args.lr, "lr_in": args.lr_in, "schedule": args.schedule, "clip": args.clip,
        "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
        "dtype": str(net.dtype),
    }
    stop = None
    if args.stop_error is not None:
        from ..training.stopping import DEFAULT_PATIENCE, error_reached

        patience = DEFAULT_PATIENCE if args.patience is None else args.patience
        stop = error_reached(args.stop_error, patience)
        config.update(stop_error=args.stop_error, patience=patience)
    result = train(net, params, opt, data, epochs=args.epochs, batch_size=args.batch_size,
                   rng=rng, task=args.task, progress=not args.quiet,
                   history_path=args.history, config=config, stop=stop)
    if result.diverged:
        print(f"rwinit train: {result.message}", file=sys.stderr)
    if args.json:
        emit_json(result.summary())
    else:
        last = result.history[-1]
        print(f"{data.name}: depth {depth}, width {width}, {nl.label}, g = {g:.6f} ({source})")
        print(f"epochs {result.epochs}, steps {result.steps}, {result.seconds:.1f} s: "
              f"train error {last['train_error']:.4f}, loss {last['loss']:.4g}"
              + ("  [diverged]" if result.diverged else ""))
        if result.stopped:
            print(f"stopped early: {result.stopped}")
    if result.history_error:
        # the run itself is not lost: its summary is on stdout above
        raise RwinitError(f"{result.history_error}; the run's summary is on standard output")
    return 0
