"""Static checks of a student's package: read with ``ast``, never imported.

- Forbidden help: imports of torch, jax, tensorflow (and friends), of the
  autograder or of the reference, and string constants that point at the
  reference, the hidden checks or the gradebook. A finding costs only the
  exercises whose code can reach it (:func:`tainted`): a finding inside a
  top-level definition (function, class, a name bound by an import or an
  assignment) taints that definition, and every definition of the package that
  names it, directly or through other definitions (``from .batchnorm import
  BatchNorm1d``, ``batchnorm.BatchNorm1d``); a finding in any other top-level
  statement runs at import time, so it taints every exercise of every module
  that imports that module, directly or not (as does a definition that looks
  names up dynamically: ``getattr``, ``globals``, ``eval``, ...).
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
    whole: list[str] = field(default_factory=list)  # findings that run at import time
    units: dict[str, "Unit"] = field(default_factory=dict)  # top-level name -> its definition


@dataclass
class Unit:
    """A top-level statement that binds names (def, class, import, assignment): its findings and what
    it names (top-level names of its module, and (module, name) pairs of the package)."""
    findings: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    refs: set[tuple[str, str | None]] = field(default_factory=set)  # (name, attribute read on it or None)
    imports: list[tuple[str, str, str | None]] = field(default_factory=list)  # (bound name, module, name)
    dynamic: bool = False


# names that look other names up at run time: a definition using them may reach anything its module imports
_DYNAMIC = {"getattr", "globals", "vars", "locals", "eval", "exec", "__import__", "importlib", "sys", "__dict__",
            "import_module", "__getattribute__"}


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    if node.level > 1:
        base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _bound(target) -> set[str] | None:
    """The names an assignment target binds, or None when it is not plain names."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        parts = [_bound(t) for t in target.elts]
        return None if any(p is None for p in parts) else set().union(*parts)
    return None


def _unit(stmt: ast.stmt, package: str) -> Unit | None:
    """The definition a top-level statement makes, or None when it is not one (its code runs at import
    time for every importer)."""
    unit = Unit()
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        unit.names = {stmt.name}
    elif isinstance(stmt, ast.Import):
        unit.names = {a.asname or a.name.split(".")[0] for a in stmt.names}
    elif isinstance(stmt, ast.ImportFrom):
        unit.names = {a.asname or a.name for a in stmt.names}
    elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = [_bound(t) for t in targets]
        if any(n is None for n in names):
            return None
        unit.names = set().union(*names)
    else:
        return None
    read_on = {id(n.value) for n in ast.walk(stmt) if isinstance(n, ast.Attribute)}  # "bn" of bn.f
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            if id(node) not in read_on:
                unit.refs.add((node.id, None))
            unit.dynamic |= node.id in _DYNAMIC
        elif isinstance(node, ast.Attribute):
            unit.dynamic |= node.attr in _DYNAMIC
            if isinstance(node.value, ast.Name):
                unit.refs.add((node.value.id, node.attr))
        elif isinstance(node, ast.Import):
            # "import nntricks.nn" binds "nntricks", not the module: no alias, the whole module is named
            unit.imports += [(a.asname or ("" if "." in a.name else a.name), a.name, None)
                             for a in node.names if a.name.split(".")[0] == "nntricks"]
        elif isinstance(node, ast.ImportFrom):
            mod = _absolute(node, package)
            if mod.split(".")[0] == "nntricks":
                unit.imports += [(a.asname or a.name, mod, None if a.name == "*" else a.name) for a in node.names]
    return unit


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
    suspicious = []  # (string constant naming grader files, its findings list); docstrings excused below

    def forbidden(modname: str, line: int, how: str):
        top = modname.split(".")[0]
        if top in FORBIDDEN_MODULES:
            out.append(f"{rel}, line {line}: {how} {modname}")

    def internal(modname: str):
        if modname == "nntricks" or modname.startswith("nntricks."):
            info.imports.add(modname)

    nodes = []
    for stmt in tree.body:
        unit = _unit(stmt, package)
        for name in unit.names if unit else ():
            info.units[name] = unit
        target = unit.findings if unit else info.whole
        nodes += [(node, target) for node in ast.walk(stmt)]
    for node, out in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                forbidden(a.name, node.lineno, "imports")
                internal(a.name)
        elif isinstance(node, ast.ImportFrom):
            mod = _absolute(node, package)
            if not node.level:
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
                suspicious.append((node, out))
    if suspicious:
        docstrings = _docstring_nodes(tree)
        for node, out in suspicious:
            if id(node) not in docstrings:
                out.append(f"{rel}, line {node.lineno}: refers to {node.value[:80]!r} "
                           "(the reference, the hidden checks or the gradebook)")
    for unit in {id(u): u for u in info.units.values()}.values():
        info.findings += unit.findings
    info.findings += info.whole


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


def forbidden_for(modules: dict[str, ModuleInfo], topic: str) -> list[str]:
    """Every finding in the topic's module and in the modules it imports, directly or not."""
    names = reachable(modules, f"nntricks.{topic}")
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


def tainted(modules: dict[str, ModuleInfo], key: str) -> list[str]:
    """The findings that exercise ``key`` (``"nn.Linear.forward"``) can reach: those of its top-level
    definition and of every definition of the package it names, directly or not, plus every finding
    that runs when its module is imported. What cannot be followed (a dynamic lookup, a definition
    the scan cannot find) is charged as if the exercise used all that its module imports."""
    topic, _, qual = key.partition(".")
    start = f"nntricks.{topic}"
    whole = [f for m in reachable(modules, start) if m in modules for f in modules[m].whole]
    if whole or start not in modules:
        return whole
    first = qual.split(".")[0]
    if first not in modules[start].units:
        return forbidden_for(modules, topic)
    out, seen, todo = [], set(), [(start, first)]
    while todo:
        item = todo.pop()
        if item in seen or item[0] not in modules:
            continue
        seen.add(item)
        mod, name = item
        info = modules[mod]
        if name is None:  # the whole module
            todo += [(mod, n) for n in info.units]
            continue
        unit = info.units.get(name)
        if unit is None:
            todo += [(mod, "*")] if "*" in info.units else []
            continue
        out += [f for f in unit.findings if f not in out]
        if unit.dynamic:
            return forbidden_for(modules, topic)
        for bound, imod, iname in unit.imports:
            module = _as_module(modules, imod, iname)
            todo.append((module, None) if module else (imod, iname))
        for ref, attr in unit.refs:
            target = info.units.get(ref)
            if target is None:
                todo += [(mod, "*")] if "*" in info.units else []
                continue
            alias = next((_as_module(modules, m, n) for b, m, n in target.imports if b == ref), None)
            todo.append((alias, attr) if alias and attr else (mod, ref))
    return out


def _as_module(modules, mod: str, name: str | None) -> str | None:
    """The package module an import binds (``from . import batchnorm``, ``import nntricks.nn as nn``), or None
    when it binds a name inside a module."""
    if name is None:
        return mod
    return f"{mod}.{name}" if f"{mod}.{name}" in modules else None
