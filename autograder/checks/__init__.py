"""The hidden checks: a module per topic (split by concern into ``<topic>_<part>``
modules when it grows: ``batchnorm_layer``, ``batchnorm_state``,
``divergences_softmax``, ``divergences_signal``, ``dropout_layer``, ``dropout_exact``, ``nn_network``
(``nn``'s Sequential); ``load_all`` imports every part, so no module imports the next), each check a
function with points.
``CONTRACT.md`` maps every clause of the package contract to its checks.

A check runs in the deciding process. It draws its inputs from fixed seeds,
has the student's functions run on them in the sandboxed worker (through
:class:`Ctx`), computes what the reference returns on the same inputs, and
compares. A check earns its points or nothing; the topic's score is the sum
(partial credit per check). The message of a failing check names the call,
the inputs' shapes, the first mismatching element (that element only: never a
whole expected array), and the most likely mistake with a hint, found by
matching the student's result against a catalogue of plausible wrong
implementations (:class:`Mistake`) of each exercise.

Points per topic (fixed; ``TOPIC_POINTS`` is computed from the registry and a
test keeps this table honest):

============== ======
topic          points
============== ======
divergences    24
nn             21
train          6
optim          21.5
init           16
batchnorm      24
dropout        16
regularization 11
heuristics     16
total          155.5
============== ======
"""

# The modules of the machinery (the topic modules are loaded by load_all):
# registry (the @check decorator, points), compare (comparisons, mistakes,
# messages), context (Ctx: calls into the worker), gradients (numeric gradients).
from .compare import (ANY, Fail, Mistake, StudentError, describe_input, describe_inputs, describe_type, diagnose,
                      error_mistake, failure_message, find_mistake, float_mistake, fmt, is_real_scalar, mismatch, scalar_value)
from .context import Ctx, bind_arguments, call_label
from .gradients import central_differences, gradient_consistency, step_size
from .registry import (DOCUMENTED_POINTS, REGISTRY, Check, check, exercise_checks, load_all, select, topic_of,
                       topic_points)

__all__ = ["ANY", "DOCUMENTED_POINTS", "REGISTRY", "Check", "Ctx", "Fail", "Mistake", "StudentError",
           "bind_arguments", "call_label", "central_differences", "check", "describe_input", "describe_inputs",
           "describe_type", "diagnose", "error_mistake", "exercise_checks", "failure_message", "find_mistake", "float_mistake", "fmt",
           "gradient_consistency", "is_real_scalar", "load_all", "mismatch", "scalar_value", "select",
           "step_size", "topic_of", "topic_points"]
