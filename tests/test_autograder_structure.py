"""The autograder stays easy to change: no module over about 400 lines, and no import cycle between its
modules (an import inside a function, which runs only when called, is not part of a cycle)."""

import ast
from pathlib import Path

import pytest
from autograder import ROOT

PACKAGE = ROOT / "autograder"
MAX_LINES = 400
#: being split by another helper (issue 13, deliverable 8); the lead lifts this when the split lands
NOT_YET: set[str] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _top_level(tree: ast.Module):
    """Import statements that run when the module is imported (not those inside functions)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)]


def imports(name: str, path: Path, modules) -> set[str]:
    """The autograder modules that importing ``name`` imports explicitly."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in _top_level(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
            continue
        base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
        mod = ".".join(base + ([node.module] if node.module else []))
        for a in node.names:
            sub = f"{mod}.{a.name}"
            out.add(sub if sub in modules else mod)
    return {m for m in out if m in modules and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), sorted."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_no_import_cycle_inside_the_autograder():
    modules = _modules()
    graph = {name: imports(name, path, modules) for name, path in modules.items()}
    assert cycles(graph) == []


def test_no_module_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES and str(p.relative_to(PACKAGE)) not in NOT_YET}
    assert long == {}, f"split these by concern: {long}"


def test_the_detectors_can_fail(tmp_path):
    """A cycle (also through a bottom-of-file import) and an import inside a function, on fake modules."""
    pkg = tmp_path / "autograder"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("X = 1\nfrom .a import thing  # noqa: E402\n")
    (pkg / "c.py").write_text("def f():\n    from . import a\n")
    mods = {"autograder": pkg / "__init__.py", "autograder.a": pkg / "a.py", "autograder.b": pkg / "b.py",
            "autograder.c": pkg / "c.py"}
    graph = {name: imports(name, path, mods) for name, path in mods.items()}
    assert graph["autograder.a"] == {"autograder.b"} and graph["autograder.b"] == {"autograder.a"}
    assert graph["autograder.c"] == set()
    assert cycles(graph) == [["autograder.a", "autograder.b"]]


@pytest.mark.parametrize("module", ["checks/batchnorm.py", "checks/divergences.py", "checks/dropout.py"])
def test_topics_do_not_import_their_parts(module):
    """The parts are imported by the registry (``load_all``), not by the topic's module."""
    modules = _modules()
    name = "autograder." + module[:-3].replace("/", ".")
    assert not {m for m in imports(name, PACKAGE / module, modules) if m.startswith(name + "_")}
