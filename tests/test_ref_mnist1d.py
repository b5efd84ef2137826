"""Reference tests for ``nntricks.data.load_mnist1d`` (provided): offline, the published
MNIST-1D sequences, the same splits and options as ``load_digits``, no side effects."""

import random
import socket
import sys

import numpy as np
import pytest

from nntricks import data

pytestmark = pytest.mark.provided


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _rows(a):
    return a[np.lexsort(a.T[::-1])]


@pytest.fixture
def global_generators():
    """Lets a test seed numpy's and Python's global generators: restores them afterwards (conftest checks numpy's)."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    yield
    np.random.set_state(numpy_state)
    random.setstate(python_state)


def test_generated_offline_from_a_fresh_import(no_network, monkeypatch):
    """Importing mnist1d and generating the data opens no connection (get_dataset would download)."""
    for name in [m for m in sys.modules if m == "mnist1d" or m.startswith("mnist1d.")]:
        monkeypatch.delitem(sys.modules, name)
    data._mnist1d.cache_clear()
    tr, va, te = data.load_mnist1d()
    assert (len(tr), len(va), len(te)) == (3200, 800, 1000)


def test_splits_partition_the_published_dataset(no_network, global_generators):
    from mnist1d.data import get_dataset_args, make_dataset

    published = make_dataset(get_dataset_args())  # seed 42: the dataset of the MNIST-1D paper
    tr, va, te = data.load_mnist1d()
    for s in (tr, va, te):
        assert s.X.dtype == np.float64 and s.X.shape == (len(s), 40)
        assert np.issubdtype(s.labels.dtype, np.integer) and set(np.unique(s.labels)) == set(range(10))
        assert s.d.shape == (len(s), 10) and np.array_equal(s.d.argmax(1), s.labels)
    assert np.array_equal(te.X, published["x_test"]) and np.array_equal(te.labels, published["y_test"])
    both = np.hstack([np.vstack([tr.X, va.X]), np.concatenate([tr.labels, va.labels])[:, None]])
    assert np.array_equal(_rows(both), _rows(np.hstack([published["x"], published["y"][:, None]])))
    assert abs(published["x"].std() - 1) < 0.01  # standardized over the whole dataset


def test_options(no_network):
    a, b, c = data.load_mnist1d(seed=3), data.load_mnist1d(seed=3), data.load_mnist1d(seed=4)
    assert np.array_equal(a[0].X, b[0].X) and not np.array_equal(a[0].X, c[0].X)
    assert np.array_equal(a[2].X, c[2].X), "the test split does not depend on the seed"
    small, va, _ = data.load_mnist1d(n_train=300)
    assert small.X.shape == (300, 40) and len(va) == 800
    assert np.array_equal(small.X, data.load_mnist1d()[0].X[:300]), "n_train keeps the first sequences"
    tr, va, _ = data.load_mnist1d(val=0.1)
    assert (len(tr), len(va)) == (3600, 400)


def test_label_noise_changes_exactly_that_fraction_of_training_labels(no_network):
    clean, val_clean, _ = data.load_mnist1d(n_train=500)
    noisy, val_noisy, _ = data.load_mnist1d(n_train=500, label_noise=0.2)
    assert np.array_equal(clean.X, noisy.X)
    assert np.sum(clean.labels != noisy.labels) == 100, "round(0.2 * 500) labels, each to another class"
    assert np.array_equal(val_clean.labels, val_noisy.labels), "validation labels stay correct"


@pytest.mark.parametrize("kwargs", [{"val": 1.0}, {"val": -0.1}, {"label_noise": 1.5}])
def test_bad_fractions_are_named(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.load_mnist1d(**kwargs)


def test_no_side_effects_on_the_global_generators_or_the_cache(global_generators):
    data._mnist1d.cache_clear()  # generate here, so that make_dataset's global seeding happens in this test
    np.random.seed(7)
    random.seed(7)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(7)
    random.seed(7)
    tr, _, te = data.load_mnist1d()
    assert np.random.rand() == expected_np and random.random() == expected_py, \
        "load_mnist1d must leave the global numpy and random generators as it found them"
    first = tr.X[0, 0]
    tr.X[...] = 0.0
    te.X[...] = 0.0
    again, _, te_again = data.load_mnist1d()
    assert again.X[0, 0] == first and te_again.X.any(), "a caller writing into its split must not change later calls"
