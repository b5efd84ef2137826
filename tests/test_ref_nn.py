"""Reference tests for nntricks.nn: the layers (exercises 1.6, 1.7), Sequential and mlp.

Numeric gradients of every layer (input and parameters), PyTorch as an oracle
(``torch.nn.Linear``, ``torch.sigmoid``, ``tanh``, ``relu``, ``leaky_relu``
through autograd, at the kinks too) when torch is installed, and the contract
(gradients replaced, live params, init, no input modified).
"""

import numpy as np
import pytest

from nntricks import batchnorm, dropout, init, nn
from strategies import (
    SEEDS,
    assert_close,
    assert_float64,
    assert_grad_close,
    away_from_zero,
    numeric_grad,
    rng_for,
    seed_shape_params,
)

pytestmark = pytest.mark.nn

def check_layer(layer, x, dout, tol=1e-6, what="layer"):
    """dx and every parameter gradient against central differences of sum(forward(x) * dout)."""
    out = layer.forward(x.copy(), train=True)
    assert_float64(out, dout.shape, f"{what} forward")
    dx = layer.backward(dout.copy())
    assert_float64(dx, x.shape, f"{what} dx")
    params, grads = layer.params(), [g.copy() for g in layer.grads()]
    assert len(params) == len(grads)

    def loss_x(v):
        return np.sum(layer.forward(v, train=True) * dout)

    assert_grad_close(dx, numeric_grad(loss_x, x), tol=tol, what=f"{what}: dx vs numeric")
    for k, (p, g) in enumerate(zip(params, grads)):
        assert g.shape == p.shape, f"{what}: grads()[{k}] shape {g.shape} vs params()[{k}] {p.shape}"
        p0 = p.copy()

        def loss_p(v, p=p):
            p[...] = v
            return np.sum(layer.forward(x.copy(), train=True) * dout)

        num = numeric_grad(loss_p, p0)
        p[...] = p0
        # a bias followed by batch norm has an exactly-zero gradient: judge it on the scale of dx
        assert_grad_close(g, num, tol=tol, what=f"{what}: grads()[{k}] vs numeric",
                          tiny=float(np.abs(dx).max()))


@pytest.mark.parametrize("seed,shape", seed_shape_params())
def test_linear(seed, shape):
    rng = rng_for(seed)
    B, D = shape
    fan_out = int(rng.integers(1, 5))
    layer = nn.Linear(D, fan_out, rng=rng)
    layer.b[...] = rng.standard_normal(fan_out)
    x = rng.standard_normal(shape)
    assert_close(layer.forward(x), x @ layer.W + layer.b, what="z = x @ W + b")
    assert layer.params()[0] is layer.W and layer.params()[1] is layer.b, "params() are the live arrays"
    check_layer(layer, x, rng.standard_normal((B, fan_out)), what="Linear")


def test_linear_init_and_default():
    rng = rng_for(1)
    layer = nn.Linear(50, 40, rng=rng)
    assert_float64(layer.W, (50, 40), "W")
    assert_float64(layer.b, (40,), "b")
    assert np.all(np.abs(layer.W) <= 1 / np.sqrt(50)) and np.all(layer.b == 0)
    layer = nn.Linear(3, 2, init=init.zeros, rng=rng)
    assert np.all(layer.W == 0)
    layer = nn.Linear(3, 2, init=lambda fi, fo, rng=None: init.constant(fi, fo, 0.5, rng=rng))
    assert np.all(layer.W == 0.5)
    a = nn.Linear(4, 3, init=init.he_normal, rng=rng_for(2)).W
    b = nn.Linear(4, 3, init=init.he_normal, rng=rng_for(2)).W
    assert np.array_equal(a, b)


@pytest.mark.parametrize("make", [nn.Sigmoid, nn.Tanh, nn.ReLU, nn.LeakyReLU, lambda: nn.LeakyReLU(0.2)],
                         ids=["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "LeakyReLU0.2"])
@pytest.mark.parametrize("seed,shape", seed_shape_params())
def test_activations(make, seed, shape):
    rng = rng_for(seed)
    layer = make()
    x = away_from_zero(rng, shape, margin=0.05, scale=2.0)  # no kink inside a finite difference
    out = layer.forward(x)
    name = type(layer).__name__
    want = {
        "Sigmoid": 1 / (1 + np.exp(-x)),
        "Tanh": np.tanh(x),
        "ReLU": np.maximum(x, 0),
        "LeakyReLU": np.where(x > 0, x, getattr(layer, "slope", 0.01) * x),
    }[name]
    assert_close(out, want, what=f"{name} forward")
    assert layer.params() == [] and layer.grads() == []
    check_layer(layer, x, rng.standard_normal(shape), what=name)


def test_activation_details():
    assert nn.LeakyReLU().slope == 0.01
    s = nn.Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
    assert np.all(np.isfinite(s)) and s[0] == pytest.approx(0.0, abs=1e-300) and s[1] == 0.5 and s[2] == 1.0
    r = nn.ReLU()
    r.forward(np.array([-1.0, 0.0, 2.0]))
    assert np.array_equal(r.backward(np.ones(3)), [0.0, 0.0, 1.0]), "ReLU: zero gradient for x <= 0"


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_sequential_and_mlp(seed):
    rng = rng_for(seed)
    x = rng.standard_normal((6, 4))
    model = nn.mlp([4, 5, 3, 2], activation=nn.Tanh, batchnorm=True, rng=rng)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear"], kinds
    for layer in model.layers:
        if isinstance(layer, batchnorm.BatchNorm1d):
            layer.gamma[...] = rng.uniform(0.5, 2, layer.gamma.shape)
            layer.beta[...] = rng.standard_normal(layer.beta.shape)
    assert len(model.params()) == 3 * 2 + 2 * 2
    assert [w.shape for w in model.weights()] == [(4, 5), (5, 3), (3, 2)]
    check_layer(model, x, rng.standard_normal((6, 2)), what="mlp(Linear-BatchNorm-Tanh)")
    seq = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.Sigmoid(), nn.Linear(3, 2, rng=rng))
    check_layer(seq, x, rng.standard_normal((6, 2)), what="Sequential(Linear, Sigmoid, Linear)")


def test_mlp_with_dropout():
    model = nn.mlp([4, 8, 3], dropout=0.5, rng=rng_for(0))
    assert [type(layer).__name__ for layer in model.layers] == ["Linear", "ReLU", "Dropout", "Linear"]
    x = rng_for(1).standard_normal((5, 4))
    assert np.array_equal(model.forward(x, train=False), model.forward(x, train=False)), "eval is deterministic"
    assert isinstance(model.layers[2], dropout.Dropout)


def test_linear_contract():
    rng = rng_for(4)
    layer = nn.Linear(5, 3, rng=rng)
    x, d1, d2 = rng.standard_normal((4, 5)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x0, d10 = x.copy(), d1.copy()
    layer.forward(x)
    dx = layer.backward(d1)
    assert dx is not d1 and np.array_equal(x, x0) and np.array_equal(d1, d10), "inputs untouched, a new array"
    layer.backward(d2)
    assert_close(layer.dW, x.T @ d2, what="a second backward replaces dW")
    assert_close(layer.db, d2.sum(axis=0), what="a second backward replaces db")
    assert layer.grads()[0] is layer.dW and layer.grads()[1] is layer.db


def test_linear_default_init_statistics():
    W = nn.Linear(400, 300, rng=rng_for(5)).W
    a = 1 / np.sqrt(400)
    assert np.abs(W).max() <= a and abs(W.mean()) < 6 * a / np.sqrt(3 * W.size)
    assert abs(W.var() - a**2 / 3) < 6 * np.sqrt((a**4 / 5 - a**4 / 9) / W.size)


def test_kinks_follow_pytorch():
    x = np.array([[-1.0, 0.0, 2.0]])
    r = nn.ReLU()
    r.forward(x)
    assert np.array_equal(r.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])
    lr = nn.LeakyReLU(0.2)
    lr.forward(x)
    assert np.array_equal(lr.backward(np.ones((1, 3))), [[0.2, 0.2, 1.0]])


def test_sigmoid_is_stable_without_warnings():
    with np.errstate(all="raise", under="ignore"):  # underflow to 0 is harmless
        y = nn.Sigmoid().forward(np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0]))
    assert np.all(np.isfinite(y)) and y[2] == 0.5 and y[-1] == 1.0


# ---------------------------------------------------------------- PyTorch as an oracle


@pytest.mark.torch
@pytest.mark.parametrize("seed,shape", seed_shape_params())
def test_linear_matches_pytorch(seed, shape):
    torch = pytest.importorskip("torch")
    rng = rng_for(seed)
    B, D = shape
    fan_out = int(rng.integers(1, 5))
    layer = nn.Linear(D, fan_out, rng=rng)
    layer.b[...] = rng.standard_normal(fan_out)
    x, dout = rng.standard_normal(shape), rng.standard_normal((B, fan_out))
    theirs = torch.nn.Linear(D, fan_out, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(layer.W.T))
        theirs.bias.copy_(torch.tensor(layer.b))
    xt = torch.tensor(x, requires_grad=True)
    out = theirs(xt)
    out.backward(torch.tensor(dout))
    assert_close(layer.forward(x), out.detach().numpy(), what="forward vs torch.nn.Linear")
    assert_close(layer.backward(dout), xt.grad.numpy(), what="dx vs torch")
    assert_close(layer.dW, theirs.weight.grad.numpy().T, what="dW vs torch (weight.grad transposed)")
    assert_close(layer.db, theirs.bias.grad.numpy(), what="db vs torch")


@pytest.mark.torch
@pytest.mark.parametrize("name", ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "LeakyReLU0.2"])
def test_activations_match_pytorch_autograd(name):
    torch = pytest.importorskip("torch")
    rng = rng_for(9)
    x = rng.standard_normal((6, 5)) * 3
    x[0, :] = 0.0  # the kinks: autograd's choice at 0 is the contract
    x[1, :2] = [1000.0, -1000.0]
    dout = rng.standard_normal(x.shape)
    F = torch.nn.functional
    fn, layer = {
        "Sigmoid": (torch.sigmoid, nn.Sigmoid()), "Tanh": (torch.tanh, nn.Tanh()), "ReLU": (F.relu, nn.ReLU()),
        "LeakyReLU": (lambda t: F.leaky_relu(t, 0.01), nn.LeakyReLU()),
        "LeakyReLU0.2": (lambda t: F.leaky_relu(t, 0.2), nn.LeakyReLU(0.2)),
    }[name]
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt)
    out.backward(torch.tensor(dout))
    assert_close(layer.forward(x), out.detach().numpy(), what=f"{name} forward vs torch")
    assert_close(layer.backward(dout), xt.grad.numpy(), what=f"{name} backward vs torch autograd")


# ------------------------------------------------------------------ Sequential (exercise 1.8) and the probes


def _probe_net(widths, log, rng):
    return [nn.Probe(a, b, scale=rng.uniform(0.5, 2), shift=rng.uniform(0.5, 1.5), name=f"L{k}", log=log)
            for k, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_sequential_calls_every_layer_once_in_order_and_passes_train(seed):
    rng = rng_for(seed)
    log = []
    probes = _probe_net([4, 3, 5, 2], log, rng)
    net = nn.Sequential(*probes)
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    x0, dout0 = x.copy(), dout.copy()
    for train in (True, False):
        log.clear()
        out = net.forward(x, train=train)
        assert log == [("forward", f"L{k}", train) for k in range(3)]
        want = x
        for q in probes:
            want = q.forward(want, train)
        assert_close(out, want, what=f"Sequential.forward(train={train}) vs the layers chained by hand")
    net.forward(x)
    log.clear()
    dx = net.backward(dout)
    assert log == [("backward", f"L{k}") for k in (2, 1, 0)]
    assert np.array_equal(net.backward(dout), dx), "a second backward gives the same result"
    assert np.array_equal(x, x0) and np.array_equal(dout, dout0)
    check_layer(net, x, dout, what="Sequential of probes")


def test_empty_sequential_is_the_identity():
    """As PyTorch's nn.Sequential(): no layer, the input is the output and dout is dx."""
    x = rng_for(0).standard_normal((3, 2))
    net = nn.Sequential()
    assert net.forward(x) is x and net.backward(x) is x and net.params() == [] and net.grads() == []


def test_probe_gradients_and_log():
    rng = rng_for(1)
    probe = nn.Probe(3, 5, scale=1.3, shift=0.7, name="P")
    check_layer(probe, rng.standard_normal((4, 3)), rng.standard_normal((4, 5)), what="Probe(3, 5)")
    assert probe.params()[0] is probe.scale and probe.grads()[0] is probe.dscale
    with pytest.raises(ValueError, match="backward got dout of shape"):
        probe.backward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="forward got x of shape"):
        probe.forward(np.ones((4, 5)))
    assert probe.log[-2:] == [("backward", "P"), ("forward", "P", True)]
    assert np.array_equal(nn.Probe(2, 2, shift=3.0).forward(np.eye(2), train=False), np.eye(2))


def test_probe_loss_and_optimizer():
    rng = rng_for(2)
    z, d = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    loss = nn.ProbeLoss()
    assert isinstance(loss.value(z, d), float)
    assert_grad_close(loss.grad(z, d), numeric_grad(lambda v: loss.value(v, d), z), what="ProbeLoss.grad vs numeric")
    assert loss.log[:2] == [("loss",), ("loss_grad",)] and set(loss.log[2:]) == {("loss",)}
    p = rng.standard_normal(3)
    p0, g = p.copy(), rng.standard_normal(3)
    opt = nn.ProbeOptimizer([p], lr=0.5)
    opt.step([g])
    g[...] = 0  # the optimizer kept a copy
    assert np.allclose(p, p0 - 0.5 * opt.seen[0][0]) and not np.array_equal(opt.seen[0][0], g)
    assert opt.log == [("step",)]
