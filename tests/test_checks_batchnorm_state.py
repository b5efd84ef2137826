"""Tests of ``autograder.checks.batchnorm_state``: the BatchNorm1d protocol
checks pass on the reference and name each broken clause."""

import pytest

from autograder.checks import select
from test_checks_context import fails, patched, run_check

NAMES = [c.full_name for c in select(topics=["batchnorm"]) if c.fn.__module__.endswith("batchnorm_state")]

MUTANTS = [
    ("bn1d_attributes", ("self.gamma, self.beta = np.ones(D), np.zeros(D)", "self.gamma, self.beta = np.ones((1, D)), np.zeros((1, D))"),
     "attributes of shape (1, D)"),
    ("bn1d_attributes", ("self.running_mean, self.running_var = np.zeros(D), np.ones(D)",
                         "self.running_mean, self.running_var = np.zeros(D), np.zeros(D)"), "not started at 0 and 1"),
    ("bn1d_params_live", ("        return [self.gamma, self.beta]", "        return [self.gamma.copy(), self.beta.copy()]"),
     "params() returns copies"),
    ("bn1d_params_live", ("        return [self.gamma, self.beta]", "        return [self.gamma, self.beta.copy()]"),
     "params() returns copies"),
    ("bn1d_grads_stored", ("        dz, self.dgamma, self.dbeta = batchnorm_backward(dout, self._cache)",
                           "        dz, dg, db = batchnorm_backward(dout, self._cache)\n        self.dgamma += dg\n        self.dbeta += db"),
     "gradients accumulated"),
    ("bn1d_backward_errors", ("        if not train:\n            self._cache = None\n", "        if not train:\n"),
     "used the last training cache"),
    ("bn1d_backward_errors", ("        if self._cache is None:\n            raise RuntimeError(", "        if False:\n            raise RuntimeError("),
     "raised TypeError"),
    ("bn1d_rejects_one_instance", ("        if z.ndim != 2 or z.shape[0] < 2:\n            raise ValueError(f\"BatchNorm1d",
                                   "        if z.ndim != 2 or z.shape[0] < 1:\n            raise ValueError(f\"BatchNorm1d"), None),
    ("bn1d_eps", ("out, self._cache = batchnorm_forward(z, self.gamma, self.beta, self.eps)",
                  "out, self._cache = batchnorm_forward(z, self.gamma, self.beta)"), "the eps argument ignored"),
    ("bn1d_inputs_unchanged", ("        mu, var_unbiased = z.mean(axis=0), z.var(axis=0, ddof=1)\n",
                               "        mu, var_unbiased = z.mean(axis=0), z.var(axis=0, ddof=1)\n        z -= mu\n"),
     "modified its input z in place"),
]


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes(name):
    run_check(name)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the B = 1 mutant's unbiased variance of one instance
@pytest.mark.parametrize("name, patch, named", MUTANTS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MUTANTS)])
def test_each_broken_clause_fails_with_its_name(name, patch, named):
    # B = 1 still reaches batchnorm_forward's own check, which raises ValueError: only both together fail
    if name == "bn1d_rejects_one_instance":
        bad = patched("batchnorm", patch, ("    if z.ndim != 2 or z.shape[0] < 2:\n        raise ValueError(f\"batchnorm_forward",
                                           "    if z.ndim != 2:\n        raise ValueError(f\"batchnorm_forward"))
        assert "no check of the batch size" in fails(f"batchnorm.{name}", batchnorm=bad)
        return
    assert named in fails(f"batchnorm.{name}", batchnorm=patched("batchnorm", patch))


def test_running_statistics_kept_as_rows_are_named():
    bad = patched("batchnorm", ("        mu, var_unbiased = z.mean(axis=0), z.var(axis=0, ddof=1)\n",
                                "        mu, var_unbiased = z.mean(axis=0, keepdims=True), z.var(axis=0, ddof=1, keepdims=True)\n"),
                  ("        self.running_mean *= 1 - m\n        self.running_mean += m * mu\n"
                   "        self.running_var *= 1 - m\n        self.running_var += m * var_unbiased\n",
                   "        self.running_mean = (1 - m) * self.running_mean + m * mu\n"
                   "        self.running_var = (1 - m) * self.running_var + m * var_unbiased\n"))
    assert "a batch statistic with keepdims=True" in fails("batchnorm.bn1d_attributes", batchnorm=bad)
