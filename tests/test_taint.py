"""Costs only what it affects: a forbidden reference charges the exercises whose code can reach it
(``staticscan.tainted``, applied per check by the runner), not every topic whose module imports it."""

from autograder import staticscan
from autograder.runner import charged
from autograder.checks import select
from autograder_support import build, grade

GRADEBOOK = "'/srv/course/gradebook.db'"


def _pkg(tmp_path, files):
    pkg = tmp_path / "nntricks"
    pkg.mkdir()
    for name, text in files.items():
        (pkg / name).write_text(text)
    return staticscan.scan(pkg)


def test_a_finding_in_a_function_taints_it_and_its_callers_only(tmp_path):
    mods = _pkg(tmp_path, {
        "batchnorm.py": f"import numpy as np\n\ndef batchnorm_forward(z):\n    return z\n\n"
                        f"def batchnorm_backward(d, c):\n    return open({GRADEBOOK})\n\n"
                        "class BatchNorm1d:\n    def backward(self, d):\n        return batchnorm_backward(d, None)\n",
        "nn.py": "from .batchnorm import BatchNorm1d\nfrom . import batchnorm as bn\n\n"
                 "class Linear:\n    def forward(self, x):\n        return x\n\n"
                 "class Sigmoid:\n    def forward(self, x):\n        return bn.batchnorm_forward(x)\n\n"
                 "class ReLU:\n    def backward(self, d):\n        return bn.batchnorm_backward(d, None)\n\n"
                 "class Tanh:\n    def backward(self, d):\n        return BatchNorm1d().backward(d)\n",
    })
    assert staticscan.tainted(mods, "batchnorm.batchnorm_forward") == []
    assert "gradebook" in " ".join(staticscan.tainted(mods, "batchnorm.batchnorm_backward"))
    assert "gradebook" in " ".join(staticscan.tainted(mods, "batchnorm.BatchNorm1d.forward"))  # calls it
    assert staticscan.tainted(mods, "nn.Linear.forward") == []  # its module merely imports batchnorm
    assert staticscan.tainted(mods, "nn.Sigmoid.forward") == []  # calls an untainted function of batchnorm
    assert "gradebook" in " ".join(staticscan.tainted(mods, "nn.ReLU.backward"))  # through the module alias
    assert "gradebook" in " ".join(staticscan.tainted(mods, "nn.Tanh.backward"))  # through the class


def test_import_time_code_and_dynamic_lookups_charge_every_importer(tmp_path):
    mods = _pkg(tmp_path, {
        "batchnorm.py": f"import numpy as np\nprint(open({GRADEBOOK}).read())\n\ndef batchnorm_forward(z):\n    return z\n",
        "nn.py": "from . import batchnorm\n\nclass Linear:\n    def forward(self, x):\n        return x\n",
        "dropout.py": f"from . import helper\n\ndef dropout_forward(y, a):\n    return getattr(helper, 'g')(y)\n"
                      "\ndef dropout_backward(d, m, a):\n    return d\n",
        "helper.py": f"def g(y):\n    return {GRADEBOOK}\n",
        "optim.py": "import torch\n\nclass SGD:\n    def step(self):\n        return 1\n\n"
                    "class Adam:\n    def step(self):\n        return torch.zeros(1)\n",
    })
    assert "gradebook" in " ".join(staticscan.tainted(mods, "nn.Linear.forward"))  # runs at import
    assert "gradebook" in " ".join(staticscan.tainted(mods, "dropout.dropout_forward"))  # getattr: all it imports
    assert staticscan.tainted(mods, "dropout.dropout_backward") == []
    assert staticscan.tainted(mods, "optim.SGD.step") == []  # "import torch" taints the name torch
    assert "torch" in " ".join(staticscan.tainted(mods, "optim.Adam.step"))


def test_a_tainted_batchnorm_backward_costs_only_its_checks(tmp_path):
    """The issue's case: a student's batchnorm.py names the gradebook in one function. nn (which
    imports batchnorm for mlp) keeps every point, batchnorm_forward's checks too; the checks of
    batchnorm_backward and of the layer that calls it earn nothing, with the finding named."""
    sub = build(tmp_path, patches=[("batchnorm", "def batchnorm_backward(dout, cache):\n",
                                    f"def batchnorm_backward(dout, cache):\n    _ = {GRADEBOOK}\n")])
    result = grade(sub, topics=["nn", "batchnorm"])
    by = {t["name"]: t for t in result["tests"]}
    charged_names = set(charged(staticscan.scan(sub / "nntricks"), select(["nn", "batchnorm"])))
    for name, t in by.items():
        if name in charged_names:
            assert t["score"] == 0 and "gradebook" in t["output"] and "earns nothing" in t["output"], name
        else:
            assert t["score"] == t["max_score"], (name, t["output"])
    assert {n for n in by if n.startswith("nn.")}.isdisjoint(charged_names)
    assert any(n.startswith("batchnorm.backward") for n in charged_names)
    assert any(n.startswith("batchnorm.bn1d") for n in charged_names)
    forward = [n for n, t in by.items() if t["tags"][1] == "batchnorm.batchnorm_forward"]
    assert forward and all(by[n]["score"] == by[n]["max_score"] for n in forward)
