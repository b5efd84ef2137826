"""PyTorch as an oracle: every exercise with a PyTorch counterpart agrees with it in float64.

Skipped as a whole when torch is not installed (it is not a project dependency).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nntricks import batchnorm as bn  # noqa: E402
from nntricks import divergences as dv  # noqa: E402
from nntricks import heuristics as hz  # noqa: E402
from nntricks import optim  # noqa: E402
from strategies import SEEDS, assert_close, prob_rows, probabilities, rng_for, seed_shape_params  # noqa: E402

pytestmark = pytest.mark.torch

SEED_SHAPES = seed_shape_params()


def T(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def N(t):
    return t.detach().numpy()


# ---------------------------------------------------------------- divergences


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_l2_vs_torch(seed, shape):
    rng = rng_for(seed)
    y, d = rng.standard_normal(shape), rng.standard_normal(shape)
    yt = T(y, True)
    loss = 0.5 * F.mse_loss(yt, T(d), reduction="sum") / shape[0]
    loss.backward()
    assert_close(dv.l2(y, d), loss.item(), what="l2 vs 0.5 * mse_loss(sum) / B")
    assert_close(dv.l2_grad(y, d), N(yt.grad), what="l2_grad vs autograd")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_bce_vs_torch(seed, shape):
    rng = rng_for(seed)
    y, d = probabilities(rng, shape, 0.01, 0.99), rng.uniform(size=shape)
    yt = T(y, True)
    loss = torch.nn.BCELoss(reduction="sum")(yt, T(d)) / shape[0]
    loss.backward()
    assert_close(dv.bce(y, d), loss.item(), what="bce vs BCELoss(sum)/B")
    assert_close(dv.bce_grad(y, d), N(yt.grad), what="bce_grad vs autograd of BCELoss(sum)/B")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_kl_vs_torch(seed, shape):
    rng = rng_for(seed)
    y, d = probabilities(rng, shape), prob_rows(rng, shape, zeros=True)
    yt = T(y, True)
    loss = torch.nn.KLDivLoss(reduction="batchmean")(torch.log(yt), T(d))
    loss.backward()
    assert_close(dv.kl(y, d), loss.item(), what="kl vs KLDivLoss(batchmean)(log y, d)")
    assert_close(dv.kl_grad(y, d), N(yt.grad), what="kl_grad vs autograd")


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_softmax_family_vs_torch(seed, shape, scale):
    rng = rng_for(seed)
    z = rng.standard_normal(shape) * scale
    d = prob_rows(rng, shape)
    assert_close(dv.softmax(z), N(F.softmax(T(z), dim=-1)), what="softmax")
    assert_close(dv.log_softmax(z), N(F.log_softmax(T(z), dim=-1)), what="log_softmax")
    zt = T(z, True)
    loss = F.cross_entropy(zt, T(d))  # probability targets, mean over the batch
    loss.backward()
    assert_close(dv.softmax_cross_entropy(z, d), loss.item(), what="softmax_cross_entropy vs F.cross_entropy")
    assert_close(dv.softmax_cross_entropy_grad(z, d), N(zt.grad), what="softmax_cross_entropy_grad vs autograd")


# ---------------------------------------------------------------- optimizers


TORCH_CONFIGS = [
    (optim.SGD, torch.optim.SGD, {"lr": 0.05}, {"lr": 0.05}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.9}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
     {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.05, "weight_decay": 0.3}, {"lr": 0.05, "weight_decay": 0.3}),
    (optim.RMSProp, torch.optim.RMSprop, {"lr": 0.01, "beta": 0.9, "eps": 1e-8},
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-8}),
    (optim.RMSProp, torch.optim.RMSprop, {"lr": 0.01, "weight_decay": 0.2},
     {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.2}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.05}, {"lr": 0.05}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1},
     {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    (optim.AdamW, torch.optim.AdamW, {"lr": 0.05}, {"lr": 0.05}),
    (optim.AdamW, torch.optim.AdamW, {"lr": 0.05, "weight_decay": 0.2}, {"lr": 0.05, "weight_decay": 0.2}),
]


@pytest.mark.parametrize("ours,theirs,hp,thp", TORCH_CONFIGS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(TORCH_CONFIGS)])
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_optimizers_vs_torch(ours, theirs, hp, thp, seed):
    rng = rng_for(seed)
    params = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    tparams = [T(p, True) for p in params]
    opt, topt = ours(params, **hp), theirs(tparams, **thp)
    for step in range(5):
        grads = [rng.standard_normal(p.shape) for p in params]
        for tp, g in zip(tparams, grads):
            tp.grad = T(g)
        topt.step()
        opt.step(grads)
        for i, (p, tp) in enumerate(zip(params, tparams)):
            assert_close(p, N(tp), what=f"{ours.__name__} vs torch {theirs.__name__}: params[{i}] after step {step + 1}")


def test_default_hyperparameters_vs_torch():
    """Defaults that the contract says match PyTorch's (AdamW weight_decay 0.01, Adam betas, eps)."""
    rng = rng_for(9)
    for ours, theirs, extra in [(optim.Adam, torch.optim.Adam, {}), (optim.AdamW, torch.optim.AdamW, {})]:
        p = [rng.standard_normal(5)]
        tp = [T(p[0], True)]
        opt, topt = ours(p, lr=0.1, **extra), theirs(tp, lr=0.1)
        for _ in range(5):
            g = rng.standard_normal(5)
            tp[0].grad = T(g)
            topt.step()
            opt.step([g])
        assert_close(p[0], N(tp[0]), what=f"{ours.__name__} defaults vs torch")


def test_nesterov_without_momentum_raises_like_torch():
    with pytest.raises(ValueError):
        torch.optim.SGD([T(np.zeros(2), True)], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        optim.SGD([np.zeros(2)], lr=0.1, nesterov=True)


# ---------------------------------------------------------------- batch norm


@pytest.mark.parametrize("seed,shape", SEED_SHAPES)
def test_batchnorm_vs_torch(seed, shape):
    rng = rng_for(seed)
    z = rng.standard_normal(shape) * 2 + 1
    gamma, beta, dout = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1]), rng.standard_normal(shape)
    eps = 1e-5 if shape[0] > 2 else 1.0  # with B = 2 the gradient is O(eps)
    zt, gt, bt = T(z, True), T(gamma, True), T(beta, True)
    out_t = F.batch_norm(zt, None, None, gt, bt, training=True, eps=eps)
    (out_t * T(dout)).sum().backward()
    out, cache = bn.batchnorm_forward(z, gamma, beta, eps=eps)
    dz, dgamma, dbeta = bn.batchnorm_backward(dout, cache)
    assert_close(out, N(out_t), what="batchnorm_forward vs F.batch_norm(training=True)")
    assert_close(dz, N(zt.grad), what="dz vs autograd")
    assert_close(dgamma, N(gt.grad), what="dgamma vs autograd")
    assert_close(dbeta, N(bt.grad), what="dbeta vs autograd")
    for k in range(shape[1]):
        zk = T(z[:, k], True)
        Jt = torch.autograd.functional.jacobian(lambda v: (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + eps), zk)
        # torch's jacobian is J_t[j, i] = du_j / dz_i; ours is J[i, j] = du_j / dz_i
        assert_close(bn.batchnorm_jacobian(z[:, k], eps=eps), N(Jt).T, what="batchnorm_jacobian vs autograd")


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm1d_running_stats_vs_torch(momentum):
    rng = rng_for(3)
    D = 4
    ours = bn.BatchNorm1d(D, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(D, momentum=momentum, dtype=torch.float64)
    theirs.train()
    for _ in range(6):
        z = rng.standard_normal((int(rng.integers(2, 9)), D)) * 3 + 2
        out_t = theirs(T(z))
        assert_close(ours.forward(z), N(out_t), what=f"BatchNorm1d training output (momentum={momentum})")
        assert_close(ours.running_mean, N(theirs.running_mean), what=f"running_mean (momentum={momentum})")
        assert_close(ours.running_var, N(theirs.running_var), what=f"running_var (momentum={momentum})")
    theirs.eval()
    z = rng.standard_normal((3, D))
    assert_close(ours.forward(z, train=False), N(theirs(T(z))), what="BatchNorm1d eval output")
    with pytest.raises(ValueError):
        theirs.train()(T(np.ones((1, D))))  # PyTorch refuses B = 1 in training too
    with pytest.raises(ValueError):
        ours.forward(np.ones((1, D)), train=True)


# ---------------------------------------------------------------- clipping


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
@pytest.mark.parametrize("seed", SEEDS)
def test_clip_by_norm_vs_torch(max_norm, seed):
    rng = rng_for(seed)
    grads = [rng.standard_normal((3, 2)) * 2, rng.standard_normal(5)]
    tparams = [T(np.zeros_like(g), True) for g in grads]
    for tp, g in zip(tparams, grads):
        tp.grad = T(g)
    total_t = torch.nn.utils.clip_grad_norm_(tparams, max_norm)
    out, total = hz.clip_by_norm(grads, max_norm)
    assert_close(total, total_t.item(), what="total_norm vs clip_grad_norm_")
    for o, tp in zip(out, tparams):
        assert_close(o, N(tp.grad), what=f"clip_by_norm vs clip_grad_norm_ (max_norm={max_norm})")


@pytest.mark.parametrize("theta", [0.5, 5.0])
def test_clip_by_value_vs_torch(theta):
    rng = rng_for(1)
    grads = [rng.standard_normal((4, 3)) * 4]
    tp = T(np.zeros((4, 3)), True)
    tp.grad = T(grads[0])
    torch.nn.utils.clip_grad_value_([tp], theta)
    assert_close(hz.clip_by_value(grads, theta)[0], N(tp.grad), what="clip_by_value vs clip_grad_value_")
