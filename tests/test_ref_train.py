"""Tests of the training loop's progress output (``nntricks.train``): a live bar when
someone watches, a few lines when a notebook runs non-interactively (nbconvert, nbclient,
nbgrader), where every redraw would be captured into the notebook."""

import io
import sys
import time
import types

import nbformat
import numpy as np
import pytest
from jupyter_client.manager import start_new_kernel

from autograder import REFERENCE
from autograder.execute import kernel_env, run
from nntricks import data, nn, optim, train

pytestmark = pytest.mark.provided

# The loss-curve cell of notebook 06 (Section 11) in its heaviest form: several 60-epoch
# runs of an MLP on 200 digits, each with the progress bar of `fit` on.
LOSS_CURVE_CELL = """
import numpy as np
from nntricks import data, nn, optim, train
small_train, val_set, _ = data.load_digits(n_train=200)
for seed in range(4):
    rng = np.random.default_rng(seed)
    model = nn.mlp([64, 128, 128, 10], rng=rng)
    history = train.fit(model, small_train, val_set, optimizer=optim.Adam(model.params(), lr=3e-3),
                        epochs=60, batch_size=32, rng=rng)
    assert len(history.val_loss) == 60
"""


def _tiny_fit(epochs=30, on_epoch=None, progress=True):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    d = np.eye(2)[(X[:, 0] > 0).astype(int)]
    model = nn.mlp([3, 8, 2], rng=rng)
    return train.fit(model, (X, d), (X, d), optimizer=optim.SGD(model.params(), lr=0.1), epochs=epochs,
                     batch_size=8, rng=rng, on_epoch=on_epoch, progress=progress)


class _Stdout(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")  # as a real file does
        return self.tty


def _fake_ipython(monkeypatch, allow_stdin):
    kernel = types.SimpleNamespace(_allow_stdin=allow_stdin)
    shell = types.SimpleNamespace(kernel=kernel)
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


@pytest.fixture
def quiet_env(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))


# ------------------------------------------------------------------- interactive()

def test_a_terminal_is_interactive(quiet_env, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Stdout(tty=True))
    assert train.interactive() is True


def test_captured_output_is_not_interactive(quiet_env, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Stdout(tty=False))
    assert train.interactive() is False


def test_a_jupyter_front_end_is_interactive_nbclient_is_not(quiet_env, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Stdout(tty=False))
    _fake_ipython(monkeypatch, allow_stdin=True)  # JupyterLab executes cells with stdin allowed
    assert train.interactive() is True
    _fake_ipython(monkeypatch, allow_stdin=False)  # nbclient / nbconvert / nbgrader do not
    assert train.interactive() is False


def test_autograding_is_never_interactive(quiet_env, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Stdout(tty=True))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert train.interactive() is False


def test_a_closed_stdout_is_not_interactive(quiet_env, monkeypatch):
    out = _Stdout(tty=True)
    out.close()  # isatty() on a closed file raises ValueError
    monkeypatch.setattr(sys, "stdout", out)
    assert train.interactive() is False


# ------------------------------------------------------------------- fit's bar

def test_fit_writes_two_lines_when_not_interactive(quiet_env, monkeypatch):
    out = _Stdout(tty=False)
    monkeypatch.setattr(sys, "stdout", out)
    history = _tiny_fit(epochs=50)
    text = out.getvalue()
    assert len(history.train_loss) == 50
    assert text.count("\r") <= 3, f"expected the first and the final state only, got {text.count(chr(13))} redraws"
    assert text.count("\n") == 1 and len(text) < 400, repr(text)
    final = text.rsplit("\r", 1)[-1]
    assert "50/50" in final and "loss=" in final and "val_loss=" in final, f"the final line is a summary: {final!r}"


def test_fit_redraws_live_when_interactive(quiet_env, monkeypatch):
    out = _Stdout(tty=True)
    monkeypatch.setattr(sys, "stdout", out)
    _tiny_fit(epochs=20, on_epoch=lambda *args: time.sleep(0.03))  # about 0.6 s: several 0.1 s redraws
    text = out.getvalue()
    assert text.count("\r") >= 4, f"an interactive bar must redraw while training, got {text!r}"
    assert "loss=" in text
    assert text.endswith("\r"), "the live bar clears itself when done (leave=False)"


def test_progress_false_writes_nothing(quiet_env, monkeypatch):
    out = _Stdout(tty=True)
    monkeypatch.setattr(sys, "stdout", out)
    _tiny_fit(epochs=5, progress=False)
    assert out.getvalue() == ""


def test_progress_bar_keywords_override_the_defaults(quiet_env, monkeypatch):
    out = _Stdout(tty=False)
    monkeypatch.setattr(sys, "stdout", out)
    for _ in train.progress_bar(range(3), desc="runs", leave=False):
        pass
    assert "runs" in out.getvalue() and not out.getvalue().endswith("\n")


# ------------------------------------------------------------------- real kernels

def _stream_text(outputs):
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


def test_loss_curve_cell_writes_a_few_kb_when_executed_non_interactively(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOSS_CURVE_CELL)])
    run(nb, tmp_path, kernel_env(PYTHONPATH=str(REFERENCE)))
    text = _stream_text(nb.cells[0].outputs)
    # before the fix this cell wrote about 20 kB (one redraw per epoch); a 1500-epoch cell of notebook 06 wrote 440 kB
    assert len(text.encode()) < 2048, f"{len(text.encode())} bytes of stream output:\n{text[:2000]}"
    assert text.count("100%") == 4, "each run still ends with a summary line"


def test_loss_curve_cell_shows_a_live_bar_in_a_front_end_that_allows_stdin():
    km, kc = start_new_kernel(kernel_name="python3", env=kernel_env(PYTHONPATH=str(REFERENCE)))
    try:
        code = LOSS_CURVE_CELL.replace("range(4)", "range(1)") + "\nimport time\n" + \
            "rng = np.random.default_rng(0)\nmodel = nn.mlp([64, 32, 10], rng=rng)\n" + \
            "train.fit(model, small_train, val_set, optimizer=optim.Adam(model.params()), epochs=20, rng=rng, " + \
            "on_epoch=lambda *a: time.sleep(0.05))\n"
        msg_id = kc.execute(code, allow_stdin=True)  # what JupyterLab sends
        text, status = "", None
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                pytest.fail("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        assert text.count("\r") >= 8, f"the bar must redraw live in a front end, got {text!r}"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# ------------------------------------------------------------------- the training sets of the demonstrations

def test_label_noise_makes_exactly_that_fraction_of_training_labels_wrong():
    clean, val, test = data.load_digits(n_train=300)
    noisy, val2, test2 = data.load_digits(n_train=300, label_noise=0.2)
    np.testing.assert_array_equal(noisy.X, clean.X)
    wrong = noisy.labels != clean.labels
    assert wrong.sum() == 60, "round(0.2 * 300) labels, each changed to a different class"
    np.testing.assert_array_equal(noisy.d, np.eye(10)[noisy.labels])
    np.testing.assert_array_equal(val2.labels, val.labels)
    np.testing.assert_array_equal(test2.labels, test.labels)
    # the wrong classes are spread over the other nine, not shifted by a constant
    assert len(set((noisy.labels[wrong] - clean.labels[wrong]) % 10)) >= 7
    again, _, _ = data.load_digits(n_train=300, label_noise=0.2)
    np.testing.assert_array_equal(again.labels, noisy.labels)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_label_noise_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="label_noise"):
        data.load_digits(label_noise=bad)


@pytest.mark.parametrize("transform", ["shift", "rotation", "stretch"])
def test_vectorized_augmentation_matches_scipy_per_image(transform):
    from scipy import ndimage

    from nntricks import heuristics

    rng = np.random.default_rng(7)
    images = rng.random((64, 8, 8))
    if transform == "shift":
        mats = [np.eye(2)] * 64
        offsets = rng.integers(-2, 3, size=(64, 2)).astype(float)
    else:
        angles = rng.uniform(-0.5, 0.5, 64)
        mats = ([np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in angles] if transform == "rotation"
                else [np.diag(1 / f) for f in rng.uniform(0.7, 1.3, size=(64, 2))])
        offsets = [heuristics._centre_offsets(A, (8, 8)) for A in mats]
    got = heuristics._affine(images, mats, offsets)
    want = np.stack([ndimage.affine_transform(im, A, offset=o, order=1, mode="constant", cval=0.0)
                     for im, A, o in zip(images, mats, offsets)])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------- train_step (exercise 1.9) and fit


def test_train_step_is_one_step_and_returns_the_loss_before_it():
    rng = np.random.default_rng(3)
    log = []
    model = nn.Probe(3, 2, scale=1.2, shift=1.0, name="m", log=log)
    loss = nn.ProbeLoss(log=log)
    opt = nn.ProbeOptimizer(model.params(), lr=0.1, log=log)
    x, d = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    x0, d0 = x.copy(), d.copy()
    z = model.forward(x)
    want_loss = loss.value(z, d)
    model.backward(loss.grad(z, d))
    want_scale = model.scale - 0.1 * model.dscale
    log.clear()
    value = train.train_step(model, x, d, (loss.value, loss.grad), opt)
    assert type(value) is float and value == pytest.approx(want_loss, rel=1e-12)
    assert log == [("forward", "m", True), ("loss",), ("loss_grad",), ("backward", "m"), ("step",)]
    assert np.allclose(model.scale, want_scale)
    assert np.array_equal(x, x0) and np.array_equal(d, d0)


def test_train_step_trains_a_network():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(64, 2))
    D = np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]
    model = nn.mlp([2, 16, 2], activation=nn.Tanh, rng=rng)
    opt = optim.SGD(model.params(), lr=0.5)
    from nntricks import divergences
    pair = (divergences.softmax_cross_entropy, divergences.softmax_cross_entropy_grad)
    losses = [train.train_step(model, X, D, pair, opt) for _ in range(300)]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("extra", [{}, {"lam": 1e-3}, {"clip": ("norm", 0.5)}, {"clip": ("value", 0.01)}])
def test_fit_runs_every_minibatch_through_train_step(monkeypatch, extra):
    calls = []
    step = train.train_step

    def counting(*args):
        calls.append(len(args[1]))
        return step(*args)

    monkeypatch.setattr(train, "train_step", counting)
    _tiny_fit(epochs=3, progress=False) if not extra else None
    if extra:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(40, 3))
        d = np.eye(2)[(X[:, 0] > 0).astype(int)]
        model = nn.mlp([3, 8, 2], rng=rng)
        train.fit(model, (X, d), optimizer=optim.SGD(model.params(), lr=0.1), epochs=3, batch_size=8, rng=rng,
                  progress=False, **extra)
    assert calls == [8] * 15, calls


def test_fit_adds_the_penalty_and_clips_before_the_optimizer():
    """One full-batch epoch of fit with lam and clipping equals the step written out."""
    from nntricks import divergences, heuristics
    rng = np.random.default_rng(5)
    X = rng.normal(size=(16, 3))
    d = np.eye(2)[(X[:, 0] > 0).astype(int)]
    a, b = nn.mlp([3, 4, 2], rng=np.random.default_rng(6)), nn.mlp([3, 4, 2], rng=np.random.default_rng(6))
    train.fit(a, (X, d), optimizer=optim.SGD(a.params(), lr=0.3), epochs=1, batch_size=16, lam=0.1,
              clip=("norm", 0.2), rng=np.random.default_rng(7), progress=False)
    z = b.forward(X)
    b.backward(divergences.softmax_cross_entropy_grad(z, d))
    grads = [g + 0.1 * p if p.ndim == 2 else g for p, g in zip(b.params(), b.grads())]
    optim.SGD(b.params(), lr=0.3).step(heuristics.clip_by_norm(grads, 0.2)[0])
    for p, q in zip(a.params(), b.params()):
        assert np.allclose(p, q, rtol=1e-12, atol=1e-14)
