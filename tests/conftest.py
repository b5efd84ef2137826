"""pytest configuration for the project's own tests.

``import nntricks`` must resolve to the reference implementation in
``reference/nntricks`` (not the student stubs in ``notebooks/nntricks``), so
``reference/`` goes to the front of ``sys.path`` before any test module is
imported.
"""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "reference")
TESTS = os.path.dirname(os.path.abspath(__file__))

for _p in (TESTS, REFERENCE):
    if _p in sys.path:
        sys.path.remove(_p)
    sys.path.insert(0, _p)

#: One marker per topic (the module names of the contract), plus the oracle.
MARKERS = {
    "divergences": "nntricks.divergences (losses, softmax, their gradients)",
    "optim": "nntricks.optim (SGD, RMSProp, Adam, AdamW, schedules)",
    "init": "nntricks.init (weight initializers)",
    "batchnorm": "nntricks.batchnorm (forward, backward, Jacobian, BatchNorm1d)",
    "dropout": "nntricks.dropout (forward, backward, Dropout layer)",
    "regularization": "nntricks.regularization (penalties, weight decay, noise)",
    "heuristics": "nntricks.heuristics (clipping, early stopping, standardization, grid search)",
    "nn": "nntricks.nn (the layers: Linear, Sigmoid, Tanh, ReLU, LeakyReLU)",
    "provided": "provided modules: train, data, gradcheck, plot, surfaces (and nn.Sequential, nn.mlp)",
    "torch": "comparisons with PyTorch as an oracle (skipped when torch is absent)",
}


def pytest_configure(config):
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


@pytest.fixture(autouse=True)
def _no_global_numpy_random_side_effects(request):
    """The package must use the ``rng`` it is given, never numpy's global state.

    (STYLE.md: do not seed the global random state as CS231n's dropout does.)
    Applies to the reference tests (``test_ref_*.py``) only.
    """
    if not request.node.module.__name__.startswith("test_ref_"):
        yield
        return
    state = np.random.get_state()
    yield
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:], (
        "numpy's global random state changed during the test: the package must only use "
        "the rng it is given (or a fresh default_rng())"
    )
