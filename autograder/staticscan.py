"""Static checks of a student's package: read with ``ast``, never imported.

- Forbidden help: imports of torch, jax, tensorflow (and friends), of the
  autograder or of the reference, and string constants that point at the
  reference, the hidden checks or the gradebook. A finding in a topic's module,
  or in a module of the package that it imports (directly or not), costs that
  topic all its points.
- Loops: whether a function (and the module-level functions it calls) contains
  a Python loop, for the exercises that must be vectorized.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from . import REFERENCE, ROOT
from .worker.policy import FORBIDDEN_MODULES

_PATH_MARKERS = ("reference/nntricks", "autograder/checks", "autograder/worker", "gradebook.db",
                 "solutions/nntricks", str(REFERENCE), str(ROOT / "autograder"))
MAX_SOURCE = 1 << 20


@dataclass
class ModuleInfo:
    name: str  # "nntricks.divergences"
    path: Path
    findings: list[str] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)  # modules of the package it imports
    tree: ast.Module | None = None
    error: str | None = None


def _module_name(pkg_dir: Path, path: Path) -> str:
    rel = path.relative_to(pkg_dir).with_suffix("")
    parts = ["nntricks", *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _scan_module(info: ModuleInfo, is_package: bool) -> None:
    try:
        source = info.path.read_bytes()[:MAX_SOURCE]
        tree = ast.parse(source, filename=str(info.path))
    except (SyntaxError, ValueError, RecursionError, MemoryError, OSError) as e:
        info.error = f"{type(e).__name__}: {e}"[:200]
        return
    info.tree = tree
    rel = info.path.name if info.path.parent.name == "nntricks" else str(info.path)
    package = info.name if is_package else info.name.rpartition(".")[0]
    suspicious = []  # string constants that name grader files (docstrings are excused below)

    def forbidden(modname: str, line: int, how: str):
        top = modname.split(".")[0]
        if top in FORBIDDEN_MODULES:
            info.findings.append(f"{rel}, line {line}: {how} {modname}")

    def internal(modname: str):
        if modname == "nntricks" or modname.startswith("nntricks."):
            info.imports.add(modname)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                forbidden(a.name, node.lineno, "imports")
                internal(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
                forbidden(mod, node.lineno, "imports from")
            internal(mod)
            for a in node.names:
                internal(f"{mod}.{a.name}")
        elif isinstance(node, ast.Call):
            f = node.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if fname in ("__import__", "import_module", "find_spec", "spec_from_file_location") and node.args:
                a0 = node.args[0]
                if isinstance(a0, ast.Constant) and isinstance(a0.value, str):
                    forbidden(a0.value, node.lineno, f"{fname}() of")
                    internal(a0.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if len(text) < 500 and any(m in text for m in _PATH_MARKERS):
                suspicious.append(node)
    if suspicious:
        docstrings = _docstring_nodes(tree)
        for node in suspicious:
            if id(node) not in docstrings:
                info.findings.append(f"{rel}, line {node.lineno}: refers to {node.value[:80]!r} "
                                     "(the reference, the hidden checks or the gradebook)")


def scan(pkg_dir: Path) -> dict[str, ModuleInfo]:
    """Scan every ``.py`` file of the package: module name -> findings and imports."""
    pkg_dir = Path(pkg_dir)
    out = {}
    for path in sorted(pkg_dir.rglob("*.py")):
        if path.is_symlink() or not path.is_file():
            continue
        name = _module_name(pkg_dir, path)
        info = ModuleInfo(name, path)
        _scan_module(info, path.name == "__init__.py")
        out[name] = info
    return out


def reachable(modules: dict[str, ModuleInfo], start: str) -> list[str]:
    """Modules of the package that importing ``start`` may run (without the
    package's ``__init__``, as the worker imports it), ``start`` first."""
    seen, todo = [], [start]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.append(m)
        info = modules.get(m)
        if info is None:
            continue
        for imp in sorted(info.imports):
            parts = imp.split(".")
            # "nntricks.x.y" may be module x's attribute y or a submodule: try both.
            for k in range(2, len(parts) + 1):
                cand = ".".join(parts[:k])
                if cand in modules and cand not in seen:
                    todo.append(cand)
    return seen


def forbidden_for(modules: dict[str, ModuleInfo], topic: str, through_init: bool = False) -> list[str]:
    start = f"nntricks.{topic}"
    names = reachable(modules, start)
    if through_init:
        names += [n for n in reachable(modules, "nntricks") if n not in names]
    out = []
    for n in names:
        if n in modules:
            out.extend(modules[n].findings)
    return out


def loops_in(modules: dict[str, ModuleInfo], topic: str, function: str) -> list[str]:
    """Python loops (for, while, comprehensions) in ``function`` of the topic's
    module or in the module-level functions it calls: ["line 12: for", ...]."""
    info = modules.get(f"nntricks.{topic}")
    if info is None or info.tree is None:
        return []
    funcs = {n.name: n for n in info.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found, seen, todo = [], set(), [function]
    loop_types = {ast.For: "for loop", ast.AsyncFor: "for loop", ast.While: "while loop",
                  ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
                  ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression"}
    while todo:
        name = todo.pop()
        if name in seen or name not in funcs:
            continue
        seen.add(name)
        for node in ast.walk(funcs[name]):
            kind = loop_types.get(type(node))
            if kind:
                found.append(f"line {node.lineno}: {kind}" + (f" (in {name})" if name != function else ""))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                todo.append(node.func.id)
    return found
