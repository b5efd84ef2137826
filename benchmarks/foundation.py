"""Speed of the reference package's hot spots, single-threaded, in one run.

    python benchmarks/foundation.py

Prints seconds per call (median of repeats) and ratios:
- vectorized ``batchnorm_backward`` vs the Jacobian-based backward (B=256, D=512);
- when PyTorch is installed (optional: ``pip install torch==2.13.0``), batch-norm
  forward+backward (B=256, D=512, float64) and one Adam step on 10M float64
  parameters, numpy reference vs PyTorch CPU. Targets: batch norm within 3x,
  Adam within 1.2x.
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import statistics  # noqa: E402
import sys  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reference"))
from nntricks import batchnorm, optim  # noqa: E402


def seconds(fn, repeat=7, number=None):
    """Median seconds per call of ``fn``."""
    timer = timeit.Timer(fn)
    if number is None:
        number = max(1, int(0.2 / max(timer.timeit(1), 1e-9)))
    return statistics.median(t / number for t in timer.repeat(repeat, number))


def jacobian_backward(dout, z, gamma, eps=1e-5):
    """Batch-norm backward through the explicit per-unit Jacobians: O(B^2 D)."""
    dz = np.empty_like(dout)
    for k in range(z.shape[1]):
        dz[:, k] = batchnorm.batchnorm_jacobian(z[:, k], eps) @ (gamma[k] * dout[:, k])
    return dz


def main():
    rng = np.random.default_rng(0)
    B, D = 256, 512
    z, dout = rng.normal(size=(B, D)), rng.normal(size=(B, D))
    gamma, beta = rng.uniform(0.5, 1.5, D), rng.normal(size=D)
    out, cache = batchnorm.batchnorm_forward(z, gamma, beta)
    assert np.allclose(jacobian_backward(dout, z, gamma), batchnorm.batchnorm_backward(dout, cache)[0])
    rows = []
    t_vec = seconds(lambda: batchnorm.batchnorm_backward(dout, cache))
    t_jac = seconds(lambda: jacobian_backward(dout, z, gamma), repeat=3)
    rows.append(("batchnorm backward, vectorized vs Jacobian (B=256, D=512)", t_vec, t_jac, t_jac / t_vec, "x faster"))

    def np_bn():
        o, c = batchnorm.batchnorm_forward(z, gamma, beta)
        return batchnorm.batchnorm_backward(dout, c)

    n = 10_000_000
    w, g = rng.normal(size=n), rng.normal(size=n)
    adam = optim.Adam([w], lr=1e-3)
    adam.step([g])  # allocate state outside the timing

    try:
        import torch
    except ImportError:
        torch = None
    if torch is None:
        rows.append(("batchnorm forward+backward, numpy", seconds(np_bn), None, None, ""))
        rows.append(("Adam step, 10M float64, numpy", seconds(lambda: adam.step([g]), repeat=5), None, None, ""))
    else:
        torch.set_num_threads(1)
        zt = torch.tensor(z, requires_grad=True)
        gt, bt = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
        dt = torch.tensor(dout)

        def torch_bn():
            o = torch.nn.functional.batch_norm(zt, None, None, gt, bt, training=True, eps=1e-5)
            return torch.autograd.grad(o, (zt, gt, bt), dt)

        got = np_bn()
        want = torch_bn()
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-6, atol=1e-8)
        t_np, t_t = seconds(np_bn), seconds(torch_bn)
        rows.append(("batchnorm forward+backward (B=256, D=512, float64), numpy vs torch", t_np, t_t, t_np / t_t, "x torch's time (target <= 3)"))
        wt = torch.tensor(w.copy())
        wt.grad = torch.tensor(g)
        topt = torch.optim.Adam([wt], lr=1e-3)  # its CPU default: the per-tensor loop
        topt.step()
        t_np, t_t = seconds(lambda: adam.step([g]), repeat=5), seconds(topt.step, repeat=5)
        rows.append(("Adam step on 10M float64 parameters, numpy vs torch", t_np, t_t, t_np / t_t, "x torch's time (target <= 1.2)"))
    print(f"numpy {np.__version__}" + ("" if torch is None else f", torch {torch.__version__}") + ", 1 thread")
    for name, a, b, ratio, unit in rows:
        line = f"{name}: {a * 1e3:.2f} ms"
        if b is not None:
            line += f" vs {b * 1e3:.2f} ms = {ratio:.2f} {unit}"
        print(line)


if __name__ == "__main__":
    main()
