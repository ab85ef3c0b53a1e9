"""The PyTorch adapter against real PyTorch: weights of std g*/sqrt(fan_in), nonlinearities
read from the module, and, through autograd, a driftless walk of ln|δ| at g* where
PyTorch's default initialization drifts (Sussillo & Abbott, arXiv:1412.6558, §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rwinit import optimal_gain
from rwinit.errors import RwinitError

torch = pytest.importorskip("torch")  # the test extra pins torch: this runs in CI
nn = torch.nn
from rwinit.adapters.torch import detect_nonlinearities, init_module, init_tensor  # noqa: E402

D, N = 50, 100  # the network of the test: 50 x (Linear(100, 100) + activation)
REINITS, BATCH = 48, 32


def _net(activation) -> nn.Sequential:
    layers = []
    for _ in range(D):
        layers += [nn.Linear(N, N), activation()]
    return nn.Sequential(*layers).double()


def _drift(net, init, seed: int) -> tuple[float, float]:
    """Per-layer drift (1/D) ln(|δ_0| / |δ_D|) back-propagated by autograd, its mean and SE
    over independent initializations (inputs and top errors N(0, I), DESIGN.md §1)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # PyTorch's default init draws from the global generator
    per_init = []
    for _ in range(REINITS):
        init(net, gen)
        x = torch.randn(BATCH, N, generator=gen, dtype=torch.float64, requires_grad=True)
        delta_top = torch.randn(BATCH, N, generator=gen, dtype=torch.float64)
        net(x).backward(delta_top)
        ratio = (x.grad.norm(dim=1).log() - delta_top.norm(dim=1).log()) / D
        per_init.append(ratio.mean().item())
    a = np.array(per_init)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a)))


def _default_init(net, gen):
    for m in net.modules():
        if isinstance(m, nn.Linear):
            m.reset_parameters()


@pytest.mark.parametrize("name, activation", [("tanh", nn.Tanh), ("relu", nn.ReLU)])
def test_adapter_makes_the_backprop_walk_driftless_and_default_init_does_not(name, activation):
    # the depth-D, network-model g*: what a real 50-layer network fed N(0, I) inputs needs
    g_star = optimal_gain(name, N, D, model="network", ci_halfwidth=0.002, seed=5)
    net = _net(activation)
    records = []

    def adapter(net, gen):
        records[:] = init_module(net, gain={name: g_star.g}, generator=gen)

    mean, se = _drift(net, adapter, seed=1)
    assert [r.nonlinearity for r in records] == [name] * D
    assert all(r.std == pytest.approx(g_star.g / math.sqrt(N)) for r in records)
    assert abs(mean) < 4 * se, (mean, se)
    default_mean, default_se = _drift(net, _default_init, seed=2)
    assert abs(default_mean) > 20 * default_se, (default_mean, default_se)
    assert default_mean < -0.1  # std 1/sqrt(3 fan_in): |δ| shrinks ~2x per layer or more
    print(f"\n{name}: g*={g_star.g:.4f}±{g_star.se:.4f}; drift per layer "
          f"adapter {mean:+.5f}±{se:.5f}, default {default_mean:+.4f}±{default_se:.4f}")


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


def test_nonlinearities_are_read_from_the_module_structure():
    net = nn.Sequential(nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 32), nn.Dropout(0.1),
                        nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.Linear(32, 32), nn.GELU(),
                        nn.Sequential(nn.Linear(32, 32), nn.ELU()), nn.Linear(32, 4))
    assert detect_nonlinearities(net) == {"0": "tanh", "2": "leaky_relu:0.2", "5": "linear",
                                          "6": "gelu", "8.0": "elu:1", "9": "linear"}
    done = init_module(net, gain=1.1)
    for r in done:
        assert r.std == pytest.approx(r.gain / math.sqrt(32)) and r.detected
    table_tanh = init_module(nn.Sequential(nn.Linear(32, 32), nn.Tanh()))  # shipped table
    assert table_tanh[0].gain == pytest.approx(1.24, abs=0.05)


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(16, 16), nn.Linear(16, 16)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


def test_undetectable_nonlinearity_needs_the_argument():
    with pytest.raises(RwinitError, match="a, b.*nonlinearity="):
        init_module(_Custom())
    done = init_module(_Custom(), "tanh")
    assert [(r.nonlinearity, r.detected) for r in done] == [("tanh", False)] * 2


def test_missing_torch_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(RwinitError, match=r"pip install rwinit\[torch\]"):
        init_module(object())
