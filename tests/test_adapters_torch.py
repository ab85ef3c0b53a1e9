"""The PyTorch adapter against real PyTorch: the architecture read from the module, the
network's own gains applied as std g_d/sqrt(fan_in), and, through autograd on three
heterogeneous networks, a driftless walk of ln|δ| where PyTorch's default initialization
drifts (Sussillo & Abbott, arXiv:1412.6558, §3; docs/design.md §Rectangular layers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rwinit.errors import RwinitError

torch = pytest.importorskip("torch")  # the test extra pins torch: this runs in CI
nn = torch.nn
F = torch.nn.functional
from rwinit.adapters.torch import detect_nonlinearities, init_module, init_tensor  # noqa: E402
from rwinit.network import Network  # noqa: E402
from rwinit.network_gain import network_gains  # noqa: E402

REINITS, BATCH = 40, 32
CI_HALFWIDTH = 0.003  # of the multiplier: its SE enters the combined SE below


@pytest.fixture(autouse=True, scope="module")
def _private_cache_one_thread(tmp_path_factory):
    """Every test here starts from an empty answer cache (cold, as in CI); torch runs on one
    thread (small matrices: threads only cost time on a shared machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RWINIT_CACHE_DIR", str(tmp_path_factory.mktemp("rwinit-cache")))
        yield
    torch.set_num_threads(threads)


def _mlp(widths, activation, norm_at=()) -> nn.Sequential:
    layers = []
    for d, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if d < len(widths) - 2:
            if d in norm_at:
                layers.append(nn.LayerNorm(b))
            layers.append(activation())
    return nn.Sequential(*layers).double()


def _drift(net, init, n_in: int, seed: int) -> tuple[float, float]:
    """Per-layer drift (1/D) ln(|δ_0|/|δ_D|) back-propagated by autograd: its mean and SE over
    independent initializations (inputs and top errors N(0, I), docs/design.md §The model)."""
    D = sum(isinstance(m, nn.Linear) for m in net.modules())
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # PyTorch's default init draws from the global generator
    per_init = []
    for _ in range(REINITS):
        init(net, gen)
        x = torch.randn(BATCH, n_in, generator=gen, dtype=torch.float64, requires_grad=True)
        y = net(x)
        delta_top = torch.randn(y.shape, generator=gen, dtype=torch.float64)
        y.backward(delta_top)
        ratio = (x.grad.norm(dim=1).log() - delta_top.norm(dim=1).log()) / D
        per_init.append(ratio.mean().item())
    a = np.array(per_init)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


def _default_init(net, gen):
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.LayerNorm)):
            m.reset_parameters()


ARCHITECTURES = {
    # name: (widths, activation, LayerNorm after these hidden layers)
    "relu 784-1024-512-256-128-10": ([784, 1024, 512, 256, 128, 10], nn.ReLU, ()),
    "tanh 3-(32/128/256)x30-10": ([3] + [(32, 128, 256)[i % 3] for i in range(30)] + [10],
                                   nn.Tanh, ()),
    "gelu 100-128x40-10, one LayerNorm": ([100] + [128] * 40 + [10], nn.GELU, (20,)),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_rwinit_gains_make_the_autograd_walk_driftless_and_the_default_does_not(name):
    widths, activation, norm_at = ARCHITECTURES[name]
    net = _mlp(widths, activation, norm_at)
    settings = dict(ci_halfwidth=CI_HALFWIDTH, seed=3)
    report = init_module(net, **settings)
    D = len(widths) - 1
    assert len(report) == D and report[-1].nonlinearity == "linear"
    assert all(r.std == pytest.approx(r.gain / math.sqrt(r.fan_in)) for r in report)
    # one network_gains answer per run of layers between LayerNorms
    assert len(report.results) == len(norm_at) + 1
    for d in norm_at:  # the LayerNorm's scale carries the gain: γ solved, applied
        ln = net[2 * d + 1]  # Linear, Activation per layer: layer d's Linear is net[2d]
        rec = report[d]
        assert rec.norm == "LayerNorm" and torch.all(ln.weight == rec.norm_scale)
        assert any(f"layer {rec.name} is followed by LayerNorm" in a
                   for a in report.approximations)
    # the multipliers' own uncertainty as drift per layer: d(drift)/dg <= 1/g per layer
    theory_se = max(r.multiplier_se / r.multiplier for r in report.results)

    def adapter(net, gen):
        init_module(net, generator=gen, **settings)

    mean, se = _drift(net, adapter, widths[0], seed=1)
    combined = math.hypot(se, theory_se)
    default_mean, default_se = _drift(net, _default_init, widths[0], seed=2)
    gains = ", ".join(f"{r.multiplier:.4f}±{r.multiplier_se:.4f}" for r in report.results)
    print(f"\n{name}: multiplier(s) {gains}; drift per layer rwinit {mean:+.5f}±{se:.5f} "
          f"(combined SE {combined:.5f}), PyTorch default {default_mean:+.4f}±{default_se:.4f}")
    assert abs(mean) < 4 * combined, (mean, se, theory_se)
    assert abs(default_mean) > 20 * math.hypot(default_se, theory_se), (default_mean, default_se)


def test_a_tanh_action_head_gets_the_gain_of_largest_drift_checked_by_autograd():
    # the actor of continuous-control RL: 8-64-64-2 tanh with a tanh-squashed output; no
    # gain makes its walk driftless, and init_module must still initialize it
    from rwinit.network_gain import NoDriftlessGainWarning

    net = nn.Sequential(*_mlp([8, 64, 64, 2], nn.Tanh), nn.Tanh()).double()
    settings = dict(seed=5, ci_halfwidth=0.02)
    with pytest.warns(NoDriftlessGainWarning, match="no gain makes this network driftless"):
        report = init_module(net, **settings)
    g = report.gains[0]
    assert report.gains == (g,) * 3 and report.result.layer_methods == ("max-drift",) * 3
    assert "warning: no gain makes" in str(report)

    def at(gain):
        return lambda net, gen: init_module(net, gain=gain, generator=gen)

    mean, se = _drift(net, at(g), 8, seed=1)
    default_mean, default_se = _drift(net, _default_init, 8, seed=2)
    # autograd agrees: the drift is negative at the answer, largest there, and far better
    # than PyTorch's default
    assert mean < -4 * se, (g, mean, se)
    for k, other in enumerate((g / 1.5, g * 1.5), start=3):
        m_other, se_other = _drift(net, at(other), 8, seed=k)
        assert mean > m_other - 4 * math.hypot(se, se_other), (g, mean, other, m_other)
    assert mean > default_mean + 4 * math.hypot(se, default_se), (mean, default_mean)


def test_gains_are_network_gains_of_the_architecture_read_from_the_module():
    net = nn.Sequential(nn.Linear(3, 100), nn.Tanh(), nn.Linear(100, 64), nn.Dropout(0.1),
                        nn.ReLU(), nn.Sequential(nn.Linear(64, 10)))
    fast = dict(seed=4, ci_halfwidth=0.02)  # the plumbing, not the precision, is tested here
    report = init_module(net, **fast)  # a first layer of fan-in 3 works
    expected = network_gains(Network([3, 100, 64, 10], ["tanh", "relu", "linear"]), **fast)
    assert expected.cached  # init_module left the answer in the disk cache
    assert report.gains == expected.layer_gains
    assert [r.fan_in for r in report] == [3, 100, 64]
    assert any("dropout after layer 2" in a for a in report.approximations)
    assert init_module(net, **fast).gains == report.gains
    per_layer = init_module(net, per_layer=True, **fast)
    assert per_layer.gains == network_gains(expected.network, per_layer=True,
                                            **fast).layer_gains
    doc = report.to_dict()
    assert doc["network_gains"][0]["layer_gains"] == list(report.gains)
    assert "E ln|δ_d|/|δ_D|" in str(report) and "pytorch" in str(report)


def test_a_sample_batch_sets_the_input_statistics():
    gen = torch.Generator().manual_seed(0)
    sample = 0.3 + 0.8 * torch.randn(64, 8, generator=gen, dtype=torch.float64)
    net = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 4))
    report = init_module(net, sample=sample, seed=5, ci_halfwidth=0.02)
    expected = Network([8, 32, 4], ["tanh", "linear"]).with_input_batch(sample.numpy())
    assert report.result.network == expected
    assert report.gains == network_gains(expected, seed=5, ci_halfwidth=0.02).layer_gains


def test_std_is_gain_over_sqrt_fan_in_not_over_fan_in():
    layer = nn.Linear(400, 300)  # weight (out, in) = (300, 400): fan_in = 400
    gen = torch.Generator().manual_seed(0)
    [rec] = init_module(nn.Sequential(layer, nn.Tanh()), gain=1.3, generator=gen)
    assert rec.fan_in == 400 and rec.std == pytest.approx(1.3 / 20)
    w = layer.weight.detach().numpy().ravel()
    se_std = rec.std / math.sqrt(2 * w.size)  # SE of a normal sample's std
    assert abs(w.std() - 1.3 / 20) < 5 * se_std
    assert abs(w.mean()) < 5 * rec.std / math.sqrt(w.size)
    assert torch.count_nonzero(layer.bias) == 0
    t = torch.empty(50, 10)
    assert init_tensor(t, "relu", gain=2.0, generator=gen) == pytest.approx(2.0 / math.sqrt(10))


def test_activations_are_read_through_nested_sequentials_norms_and_dropout():
    net = nn.Sequential(nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 32), nn.Dropout(0.1),
                        nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.Linear(32, 32),
                        nn.BatchNorm1d(32), nn.GELU(),
                        nn.Sequential(nn.Sequential(nn.Linear(32, 32), nn.LayerNorm(32)),
                                      nn.ELU(0.5)),
                        nn.Linear(32, 4))
    assert detect_nonlinearities(net) == {"0": "tanh", "2": "leaky_relu:0.2", "5": "linear",
                                          "6": "gelu", "9.0.0": "elu:0.5", "10": "linear"}
    report = init_module(net, gain={"tanh": 1.1, "leaky_relu": 1.2, "linear": 1.0,
                                    "gelu": 1.3, "elu": 1.4})
    assert [r.gain for r in report] == [1.1, 1.2, 1.0, 1.3, 1.4, 1.0]
    norms = {r.name: r for r in report if r.norm}
    assert set(norms) == {"6", "9.0.0"} and norms["9.0.0"].norm == "LayerNorm"
    # the normalisation's scale carries the gain: γ = g · rms(input) > 0, applied
    assert torch.allclose(net[9][0][1].weight, torch.full((32,), norms["9.0.0"].norm_scale))
    assert torch.count_nonzero(net[7].bias) == 0
    assert all(r.detected for r in report)


class _MobileTraced(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x):
        return self.c(F.hardtanh(F.hardswish(self.b(F.relu6(self.a(x))))))


def test_mobile_network_activations_are_read_from_modules_and_calls():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU6(), nn.Linear(8, 8), nn.Hardswish(),
                        nn.Linear(8, 8), nn.Hardsigmoid(), nn.Linear(8, 8), nn.Mish(),
                        nn.Linear(8, 8), nn.Hardtanh(), nn.Linear(8, 2))
    assert detect_nonlinearities(net) == {"0": "relu6", "2": "hardswish", "4": "hardsigmoid",
                                          "6": "mish", "8": "hardtanh", "10": "linear"}
    assert detect_nonlinearities(_MobileTraced()) == {"a": "relu6", "b": "hardswish",
                                                      "c": "linear"}
    # a Hardtanh with other bounds is not rwinit's hardtanh: asked for, not guessed
    prelu = nn.Sequential(nn.Linear(4, 8), nn.PReLU(), nn.Linear(8, 8), nn.PReLU(8, 0.1),
                          nn.Linear(8, 2))
    assert detect_nonlinearities(prelu) == {"0": "leaky_relu:0.25", "2": "leaky_relu:0.1",
                                            "4": "linear"}
    with torch.no_grad():
        prelu[3].weight[0] = 0.3  # slopes no longer shared: asked for
    assert detect_nonlinearities(prelu)["2"] is None
    wide = nn.Sequential(nn.Linear(4, 8), nn.Hardtanh(-2.0, 2.0), nn.Linear(8, 2))
    assert detect_nonlinearities(wide) == {"0": None, "2": "linear"}
    with pytest.raises(RwinitError, match="Hardtanh follows it"):
        init_module(wide)
    report = init_module(net, seed=2, ci_halfwidth=0.05)
    assert all(math.isfinite(r.gain) and r.gain > 0 for r in report)


def test_a_mobilenet_block_reads_through_pooling_and_a_linear_bottleneck():
    # stem conv, depthwise conv (groups = channels: fan-in ∏kernel), a 1×1 projection with
    # no activation (a linear bottleneck) followed by pooling, then the classifier
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16),
        nn.Hardswish(), nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False),
        nn.BatchNorm2d(16), nn.ReLU6(), nn.Conv2d(16, 24, 1, bias=False), nn.BatchNorm2d(24),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))
    assert detect_nonlinearities(net) == {"0": "hardswish", "3": "relu6", "6": "linear",
                                          "10": "linear"}
    report = init_module(net, seed=1, ci_halfwidth=0.05)
    assert [r.fan_in for r in report] == [27, 9, 16, 24]
    assert any("AdaptiveAvgPool2d, Flatten after layer 6" in a for a in report.approximations)
    assert report.gains == network_gains(Network([27, 9, 16, 24, 10], ["hardswish", "relu6",
                                                 "linear", "linear"]),
                                         seed=1, ci_halfwidth=0.05).layer_gains
    # 144 draws: the sample std is within 4 of its standard errors (1/√288 relative)
    assert net[3].weight.std().item() == pytest.approx(report[1].std, rel=4 / math.sqrt(288))


@pytest.mark.parametrize(("label", "fn"), [("relu6", F.relu6), ("hardtanh", F.hardtanh),
                                           ("hardsigmoid", F.hardsigmoid),
                                           ("hardswish", F.hardswish), ("mish", F.mish)])
def test_mobile_network_activations_are_pytorchs_f_and_f_prime(label, fn):
    from rwinit.nonlinearities import get_nonlinearity

    x = np.linspace(-10, 10, 2001)
    x = x[np.abs(x[:, None] - np.array([-3, -1, 0, 1, 3, 6])).min(axis=1) > 1e-9]  # kinks
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(t)
    (grad,) = torch.autograd.grad(y.sum(), t)
    nl = get_nonlinearity(label)
    np.testing.assert_allclose(nl(x), y.detach().numpy(), rtol=1e-13, atol=1e-15)
    # PyTorch's hardsigmoid slope is the float32 1/6 (1.6666667e-01): 5e-9 off the exact one
    np.testing.assert_allclose(nl.derivative(x), grad.numpy(), rtol=1e-7, atol=1e-13)


class _Traced(nn.Module):
    """Registration order b, a; forward order a, b: fx shows both the order and the tanh."""

    def __init__(self):
        super().__init__()
        self.b, self.a = nn.Linear(16, 4), nn.Linear(8, 16)
        self.unused = nn.Linear(5, 5)

    def forward(self, x):
        return self.b(F.elu(self.a(x), 0.5))


class _Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(16, 16), nn.Linear(16, 16)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            x = torch.tanh(self.a(x))
        return self.b(x)


def test_custom_forward_is_traced_with_fx():
    assert detect_nonlinearities(_Traced()) == {"a": "elu:0.5", "b": "linear"}
    report = init_module(_Traced(), gain=1.2)
    assert [r.name for r in report] == ["a", "b"] and [r.fan_in for r in report] == [8, 16]
    assert any("unused" in s and "never calls" in s for s in report.skipped)


def test_untraceable_forward_needs_the_activations_and_keeps_the_readout_linear():
    with pytest.raises(RwinitError, match=r"a, b .*activations=\[\.\.\.\].*nonlinearity="):
        init_module(_Untraceable())
    report = init_module(_Untraceable(), "tanh", seed=1, ci_halfwidth=0.02)
    # the read-out does not get the hidden gain: it is linear, with its own exact gain
    assert [(r.nonlinearity, r.detected) for r in report] == [("tanh", False),
                                                             ("linear", False)]
    assert report[0].gain != report[1].gain
    assert report.gains == network_gains(Network([16, 16, 16], ["tanh", "linear"]), seed=1,
                                         ci_halfwidth=0.02).layer_gains
    given = init_module(_Untraceable(), activations=["relu", "tanh"], gain=1.0)
    assert [r.nonlinearity for r in given] == ["relu", "tanh"]
    with pytest.raises(RwinitError, match="one nonlinearity per weight layer"):
        init_module(_Untraceable(), activations=["relu"])


def test_convolutions_are_dense_layers_of_their_fan_in_and_say_so():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8 * 6 * 6, 10)).double()
    report = init_module(net, seed=2, ci_halfwidth=0.02)
    assert [(r.kind, r.fan_in) for r in report] == [("conv", 27), ("dense", 288)]
    assert any("Conv2d" in a and "dense layer of fan-in 27" in a for a in report.approximations)
    w = net[0].weight.detach().numpy().ravel()
    assert abs(w.std() - report[0].std) < 5 * report[0].std / math.sqrt(2 * w.size)


def test_lazy_layers_and_empty_modules_get_a_clear_message():
    with pytest.raises(RwinitError, match="LazyLinear.*forward pass"):
        init_module(nn.Sequential(nn.LazyLinear(10), nn.ReLU()))
    with pytest.raises(RwinitError, match="no nn.Linear"):
        init_module(nn.Sequential(nn.ReLU()))
    with pytest.raises(RwinitError, match="no entry for 'relu'"):
        init_module(nn.Sequential(nn.Linear(4, 4), nn.ReLU()), gain={"tanh": 1.0})


def test_missing_torch_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(RwinitError, match=r"pip install rwinit\[torch\]"):
        init_module(object())
