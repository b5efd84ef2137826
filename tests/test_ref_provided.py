"""Reference tests for the provided modules: gradcheck, data, train, surfaces, plot,
and the image augmentation helpers of heuristics (DESIGN.md, "Provided (not exercises)").
The layers of ``nntricks.nn`` (exercises since v2) are tested in test_ref_nn.py."""

import socket

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nntricks import (  # noqa: E402
    data,
    divergences,
    gradcheck,
    heuristics,
    init,
    nn,
    optim,
    plot,
    surfaces,
    train,
)
from strategies import (  # noqa: E402
    SEEDS,
    assert_close,
    assert_float64,
    assert_grad_close,
    numeric_grad,
    rel_err,
    rng_for,
)

pytestmark = pytest.mark.provided


def test_tests_import_the_reference_package():
    import os

    import nntricks

    ref = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference", "nntricks")
    assert os.path.dirname(os.path.abspath(nntricks.__file__)) == ref, nntricks.__file__


# ---------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("seed", SEEDS)
def test_gradcheck_numeric_grad_scalar(seed):
    rng = rng_for(seed)
    x = rng.standard_normal((3, 4))
    A = rng.standard_normal((4, 4))

    def f(v):
        return float(np.sum(np.sin(v) * (v @ A)) + np.sum(np.exp(0.3 * v)))

    exact = np.cos(x) * (x @ A) + np.sin(x) @ A.T + 0.3 * np.exp(0.3 * x)
    mine = numeric_grad(f, x)
    theirs = gradcheck.numeric_grad(f, x)
    assert_grad_close(mine, exact, tol=1e-9, what="tests' own numeric_grad vs the analytic gradient")
    assert_float64(theirs, x.shape, "gradcheck.numeric_grad")
    assert_grad_close(theirs, mine, what="gradcheck.numeric_grad vs the tests' numeric_grad")


@pytest.mark.parametrize("seed", SEEDS)
def test_gradcheck_numeric_grad_with_dout(seed):
    rng = rng_for(seed)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x0 = x.copy()

    def f(v):
        return np.tanh(v) * v  # array-valued

    theirs = gradcheck.numeric_grad(f, x, dout)
    mine = numeric_grad(lambda v: np.sum(f(v) * dout), x)
    assert_grad_close(theirs, mine, what="gradcheck.numeric_grad(f, x, dout) vs sum(f(x) * dout)")
    assert np.array_equal(x, x0), "gradcheck.numeric_grad modified x"


def test_gradcheck_rel_error():
    rng = rng_for(0)
    for _ in range(10):
        a, b = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
        b[0] = a[0]
        got = gradcheck.rel_error(a, b)
        assert type(got) is float
        assert_close(got, rel_err(a, b), what="rel_error = max|a-b| / max(|a|+|b|)")
    assert gradcheck.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.rel_error(np.ones(3), np.ones(3)) == 0.0
    assert gradcheck.rel_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)


# ---------------------------------------------------------------- data


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_load_digits_offline(no_network):
    tr, va, te = data.load_digits()
    assert len(tr) + len(va) + len(te) == 1797
    assert len(va) == round(0.2 * 1797) and len(te) == round(0.2 * 1797)
    for s in (tr, va, te):
        assert_float64(s.X, (len(s), 64), "X")
        assert s.X.min() >= 0 and s.X.max() <= 1
        assert np.issubdtype(s.labels.dtype, np.integer) and s.labels.shape == (len(s),)
        assert set(np.unique(s.labels)) <= set(range(10))
        assert_float64(s.d, (len(s), 10), "d")
        assert np.array_equal(s.d.argmax(1), s.labels) and np.all(s.d.sum(1) == 1)
    # the three splits partition the dataset (as a multiset of rows)
    from sklearn.datasets import load_digits

    full = load_digits().data / 16.0
    allx = np.vstack([tr.X, va.X, te.X])
    key = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    assert np.array_equal(key(allx), key(full))


def test_load_digits_options(no_network):
    a = data.load_digits(seed=3)
    b = data.load_digits(seed=3)
    c = data.load_digits(seed=4)
    assert np.array_equal(a[0].X, b[0].X) and not np.array_equal(a[0].X, c[0].X)
    small, va, te = data.load_digits(n_train=100)
    assert len(small) == 100 and small.X.shape == (100, 64)
    tr, va, te = data.load_digits(val=0.1, test=0.3)
    assert len(va) == round(0.1 * 1797) and len(te) == round(0.3 * 1797)


def test_toy_sets():
    X, d = data.perceptron_data(n=50, rng=rng_for(0))
    assert_float64(X, (50, 2), "perceptron X")
    assert_float64(d, (50,), "perceptron d")
    assert set(np.unique(d)) <= {0.0, 1.0}
    X, d = data.noisy_sine(n=20, rng=rng_for(0))
    assert_float64(X, (20, 1), "sine X")
    assert_float64(d, (20, 1), "sine d")
    assert np.all((X >= 0) & (X <= 1))
    assert np.array_equal(data.noisy_sine()[0], data.noisy_sine()[0]), "default rng is seeded"


@pytest.mark.parametrize("N,bs", [(10, 3), (64, 64), (7, 10), (100, 32)])
def test_batches(N, bs):
    rng = rng_for(N)
    idx = data.batches(N, bs, rng)
    assert [len(i) for i in idx] == [min(bs, N - s) for s in range(0, N, bs)]
    assert np.array_equal(np.sort(np.concatenate(idx)), np.arange(N)), "one epoch visits every instance once"
    ordered = data.batches(N, bs, shuffle=False)
    assert np.array_equal(np.concatenate(ordered), np.arange(N))
    if N > 5:
        assert not np.array_equal(np.concatenate(data.batches(N, bs, rng)), np.concatenate(idx)), \
            "a fresh permutation per epoch"


# ---------------------------------------------------------------- train


def test_fit_reduces_loss_on_digits(no_network):
    tr, va, _ = data.load_digits(n_train=600)
    rng = rng_for(0)
    model = nn.mlp([64, 32, 10], activation=nn.Tanh, init=init.xavier_normal, rng=rng)
    loss0 = train.evaluate(model, tr)[0]
    opt = optim.SGD(model.params(), lr=0.1, momentum=0.9)
    hist = train.fit(model, tr, va, optimizer=opt, epochs=8, batch_size=32, rng=rng, progress=False)
    assert len(hist.train_loss) == 8 and len(hist.val_loss) == 8 and len(hist["val_acc"]) == 8
    assert hist.train_loss[-1] < 0.3 * loss0, f"train loss {loss0:.3f} -> {hist.train_loss[-1]:.3f}"
    assert hist.val_acc[-1] > 0.85, f"validation accuracy {hist.val_acc[-1]:.3f}"
    assert_close(train.evaluate(model, va)[0], hist.val_loss[-1], what="history matches evaluate")


def test_fit_with_every_hook(no_network):
    tr, va, _ = data.load_digits(n_train=300)
    rng = rng_for(1)
    model = nn.mlp([64, 16, 10], batchnorm=True, dropout=0.8, rng=rng)
    es = heuristics.EarlyStopping(patience=2)
    seen = []

    def aug(xb, rng):
        seen.append(xb.shape)
        return heuristics.random_noise(xb, 0.01, rng)

    opt = optim.Adam(model.params(), lr=0.01)
    hist = train.fit(model, tr, va, optimizer=opt, epochs=6, batch_size=50, lam=1e-3, clip=("norm", 5.0),
                     early_stopping=es, augment=aug, rng=rng, progress=False,
                     on_epoch=lambda e, m, h: seen.append(e))
    assert hist.val_loss[0] > min(hist.val_loss)
    assert hist.best_epoch == es.best_epoch == int(np.argmin(hist.val_loss))
    assert_close(train.evaluate(model, va)[0], min(hist.val_loss), what="best epoch's parameters restored")
    assert seen, "augment and on_epoch were called"


def test_fit_regression_with_l2_loss():
    X, d = data.noisy_sine(n=40, rng=rng_for(2))
    model = nn.mlp([1, 16, 1], activation=nn.Tanh, rng=rng_for(3))
    loss = (divergences.l2, divergences.l2_grad)
    before = train.evaluate(model, (X, d), loss)[0]
    hist = train.fit(model, (X, d), optimizer=optim.Adam(model.params(), lr=0.02), epochs=150,
                     batch_size=10, loss=loss, clip=("value", 5.0), rng=rng_for(4), progress=False)
    assert hist.train_loss[-1] < 0.5 * before
    assert hist.val_loss == []


def test_budget(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert train.budget(100, 5) == 100
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert train.budget(100, 5) == 5


# ---------------------------------------------------------------- surfaces


@pytest.mark.parametrize("make", [surfaces.ill_conditioned_quadratic, surfaces.saddle, surfaces.rosenbrock])
def test_surfaces(make):
    s = make()
    rng = rng_for(0)
    for _ in range(5):
        w = rng.uniform(-1.5, 1.5, 2)
        assert_grad_close(s.grad(w), numeric_grad(s, w), what=f"{s.name}: grad vs numeric")
    if s.minimum is not None:
        assert_close(s.grad(s.minimum), np.zeros(2), atol=1e-12, what="gradient 0 at the minimum")
    X, Y, Z = s.grid(n=20)
    assert X.shape == Y.shape == Z.shape == (20, 20)
    path, losses = surfaces.trajectory(s, lambda p: optim.SGD(p, lr=1e-3), steps=10)
    assert path.shape == (11, 2) and losses.shape == (11,)
    assert_close(path[0], s.start, what="path starts at surface.start")


def test_trajectory_converges_on_quadratic():
    s = surfaces.ill_conditioned_quadratic(kappa=10.0)
    path, losses = surfaces.trajectory(s, lambda p: optim.Adam(p, lr=0.1), steps=300)
    assert losses[-1] < 1e-2 * losses[0]


# ---------------------------------------------------------------- augmentation (heuristics, provided)


def test_augmentation_shapes_and_identities():
    rng = rng_for(0)
    imgs = rng.uniform(0, 1, (5, 8, 8))
    imgs0 = imgs.copy()
    for fn in (heuristics.random_shift, heuristics.random_rotation, heuristics.random_stretch,
               heuristics.random_noise, heuristics.augment):
        out = fn(imgs, rng=rng_for(1))
        assert_float64(out, imgs.shape, fn.__name__)
        assert np.array_equal(out, fn(imgs, rng=rng_for(1))), f"{fn.__name__}: same rng, same output"
    assert np.array_equal(imgs, imgs0), "augmentation modified its input"
    assert_close(heuristics.random_shift(imgs, max_shift=0, rng=rng), imgs, what="no shift")
    assert_close(heuristics.random_rotation(imgs, max_degrees=0.0, rng=rng), imgs, what="no rotation")
    assert_close(heuristics.random_stretch(imgs, max_stretch=0.0, rng=rng), imgs, what="no stretch")
    noise = heuristics.random_noise(np.zeros((50, 20, 20)), std=0.3, rng=rng)
    assert abs(noise.std() / 0.3 - 1) < 0.02
    # a one-pixel shift moves the image by one pixel
    img = np.zeros((1, 8, 8))
    img[0, 3, 3] = 1.0
    out = heuristics.random_shift(img, max_shift=1, rng=rng_for(5))
    ys, xs = np.nonzero(out[0] > 0.5)
    assert len(ys) == 1 and abs(ys[0] - 3) <= 1 and abs(xs[0] - 3) <= 1


# ---------------------------------------------------------------- plot


def test_plot_helpers_draw():
    try:
        hist = train.History(train_loss=[1.0, 0.5, 0.4], val_loss=[1.1, 0.7, 0.8], train_acc=[], val_acc=[],
                             best_epoch=1)
        assert plot.curves(hist) is not None
        s = surfaces.saddle()
        path, _ = surfaces.trajectory(s, lambda p: optim.SGD(p, lr=0.05), steps=20)
        assert plot.paths(s, {"SGD": path}) is not None
        assert plot.histograms([rng_for(0).standard_normal(100) for _ in range(3)]) is not None
        assert plot.images(rng_for(1).uniform(size=(4, 8, 8)), labels=[0, 1, 2, 3], ncols=2) is not None
        assert plot.heatmap(np.arange(6.0).reshape(2, 3), [0.1, 0.01], [0, 1, 2], "lr", "lam") is not None
    finally:
        plt.close("all")
