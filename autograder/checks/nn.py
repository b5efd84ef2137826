"""Hidden checks of ``nntricks.nn``: the layers' forward and backward passes (16 points).

Each check builds the student's layer in the worker, runs ``forward`` then
``backward`` (batch sizes 1, 2 and large; random widths), reads the stored
gradients back, and compares with the same computation by the reference on the
student's own weights (rtol 1e-6), with central differences of the student's
own ``forward`` (the gradient with respect to the input), and with the
contract: gradients replaced, not accumulated, on a second ``backward``; a
second ``backward`` after one ``forward`` as right as the first; a new array
returned; inputs left alone; ``params()`` the live arrays; PyTorch's default
initialization. Large inputs (``Sigmoid.forward``, ``Tanh``) run under
``np.errstate(all="raise", under="ignore")``, so an overflow that only warns
(a naive ``1 / (1 + np.exp(-x))``) is seen. The constructors are provided (not
exercises): the ``init=`` argument, which the worker cannot receive (it takes
no callables), is tested in ``tests/test_ref_nn.py``.

The checks live in ``nn_linear`` (``Linear``) and ``nn_activations`` (the
nonlinearities), on top of ``nn_run`` (running a layer in the worker).
"""

from . import nn_linear  # noqa: I001 - registers Linear's checks first (the order of reports)
from . import nn_activations

__all__ = ["nn_activations", "nn_linear"]
