"""Tests of ``autograder.checks.optim_mistakes``: the plain simulators agree
with the reference optimizers, and every catalogued mistake is distinguishable
from the right trajectory on the checks' problems."""

import numpy as np
import pytest

from autograder.checks import mismatch
from autograder.checks.optim_mistakes import (ADAM_MISTAKES, ADAMW_MISTAKES, RMSPROP_MISTAKES, SGD_MISTAKES, _adam,
                                              _rmsprop, _sgd)
from nntricks import optim
from test_checks_context import fails, patched


def _problem(seed=0, steps=5, gscale=1.0):
    r = np.random.default_rng(seed)
    shapes = ((3, 4), (4,))
    return [r.normal(size=s) for s in shapes], [[r.normal(size=s) * gscale for s in shapes] for _ in range(steps)]


def _reference(cls, params, grads, **hp):
    ws = [w.copy() for w in params]
    opt = getattr(optim, cls)(ws, **hp)
    out = []
    for gs in grads:
        opt.step([g.copy() for g in gs])
        out.append([w.copy() for w in ws])
    return out


CASES = [("SGD", _sgd, {}, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}, SGD_MISTAKES),
         ("RMSProp", _rmsprop, {}, {"lr": 0.05, "beta": 0.9, "weight_decay": 0.1}, RMSPROP_MISTAKES),
         ("Adam", _adam, {}, {"lr": 0.1, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.1}, ADAM_MISTAKES),
         ("AdamW", _adam, {"decoupled": True}, {"lr": 0.05, "weight_decay": 0.1}, ADAMW_MISTAKES)]


@pytest.mark.parametrize("cls, sim, fixed, hp, mistakes", CASES, ids=[c[0] for c in CASES])
def test_simulator_matches_the_reference(cls, sim, fixed, hp, mistakes):
    params, grads = _problem()
    assert mismatch(sim(params, grads, **fixed, **hp), _reference(cls, params, grads, **hp), 1e-10, 1e-12) is None


@pytest.mark.parametrize("cls, sim, fixed, hp, mistakes", CASES, ids=[c[0] for c in CASES])
def test_every_mistake_differs_from_the_right_trajectory(cls, sim, fixed, hp, mistakes):
    """Each variant differs on a problem the checks run (tiny gradients for the eps mistakes)."""
    problems = {"normal": _problem(), "tiny": _problem(1, 4, 1e-8)}
    for m in mistakes:
        if m.variant is None:
            continue
        distinct = False
        for params, grads in problems.values():
            for extra in ({}, {"eps": 1e-6} if cls != "SGD" else {}):
                want = _reference(cls, params, grads, **hp, **extra)
                with np.errstate(all="ignore"):
                    got = m.variant(params=params, grads=grads, **hp, **extra)
                distinct |= mismatch(got, want) is not None
        assert distinct, f"{cls}: {m.name} is the right trajectory"


def test_adamw_eps_inside_the_root_is_named_with_tiny_gradients():
    bad = patched("optim", ("                w *= 1 - self.lr * self.weight_decay\n            self._update(w, g, m, v, buf)",
                            "                w *= 1 - self.lr * self.weight_decay\n"
                            "            m *= self.beta1\n            m += (1 - self.beta1) * g\n"
                            "            v *= self.beta2\n            v += (1 - self.beta2) * g * g\n"
                            "            w -= self.lr * (m / (1 - self.beta1**self.t)) / "
                            "np.sqrt(v / (1 - self.beta2**self.t) + self.eps)"))
    assert "eps inside the square root" in fails("optim.adamw_tiny_gradients", optim=bad)


def test_nesterov_without_momentum_must_raise():
    bad = patched("optim", ('        if nesterov and momentum <= 0:\n            raise ValueError("Nesterov momentum requires '
                            'a momentum > 0")\n', ""))
    assert "Nesterov accepted without momentum" in fails("optim.sgd_nesterov_requires_momentum", optim=bad)


NESTEROV_STEP = "                g = g + self.momentum * v if self.nesterov else v\n"


@pytest.mark.parametrize("branch", [
    "                g = v\n",  # the nesterov branch left out
    "                g = g + self.momentum * (v - g) / self.momentum if self.nesterov else v\n",  # from the old v
], ids=["branch ignored", "step from the velocity before its update"])
def test_a_nesterov_branch_without_effect_is_named_as_such(branch):
    """Both give plain momentum's steps: the diagnosis says so, not "built from the previous velocity"."""
    message = fails("optim.sgd_nesterov", optim=patched("optim", (NESTEROV_STEP, branch)))
    assert "Likely mistake: Nesterov ignored: with nesterov=True the parameters follow plain momentum" in message
    assert "previous velocity" not in message


def test_nesterov_without_the_gradient_term_is_named():
    bad = patched("optim", (NESTEROV_STEP, "                g = self.momentum * v if self.nesterov else v\n"))
    assert "Nesterov step without the gradient term" in fails("optim.sgd_nesterov", optim=bad)
