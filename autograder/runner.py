"""Grade one submission: take it in (``autograder.submission``), scan it, run every topic's checks against a
sandboxed worker, and collect a Gradescope-style result.

One worker per topic imports only that topic's module (all of them forked at the
start by the submission's zygote, see ``autograder.sandbox``). A worker that hangs,
dies, prints too much or breaks the protocol costs the check it was running
(the message says which limit), is restarted for the next check, and an
exercise that timed out once is not run again (its later checks fail at once
with the reason), so that a hanging function costs one timeout, not one per
check. The deciding process never imports the student's code and never
unpickles anything from the worker.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import refimpl, staticscan
from .submission import IntakeError, intake
from .checks import Check, Ctx, Fail, StudentError, select
from .exercises import EXERCISES, TOPICS
from .protocol import Program, ProtocolError, decode
from .sandbox import SANDBOX_WARNING, Limits, Worker, WorkerFailure, Zygote, ZygoteError, bwrap_path, sandbox_kind

def describe_exception(info: dict, label: str, limits: Limits) -> str:
    t = str(info.get("type", "?"))[:80]
    msg = str(info.get("msg", ""))[:400]
    where = str(info.get("where", ""))[:200]
    loc = f" [{where}]" if where else ""
    if t == "NotImplementedError":
        return f"{label}: not implemented yet (NotImplementedError{': ' + msg if msg else ''}){loc}"
    if t == "SystemExit":
        return f"{label} called sys.exit({msg}){loc}: a function must return, not end the program"
    if t == "KeyboardInterrupt":
        return f"{label} raised KeyboardInterrupt{loc}"
    if "blocked by the autograder sandbox" in msg:
        return f"{label} tried something the sandbox forbids ({msg.split(': ', 1)[-1]}){loc}"
    if t == "MemoryError":
        return (f"{label} ran out of memory (MemoryError{': ' + msg if msg else ''}; the limit is "
                f"{limits.memory_bytes / (1 << 30):g} GiB){loc}")
    return f"{label} raised {t}{': ' + msg if msg else ''}{loc}"


class TopicRun:
    """The checks of one topic against one (restartable) worker."""

    def __init__(self, topic: str, sub_root: Path, limits: Limits, static, deadline: float | None,
                 zygote: Zygote | None = None):
        self.topic, self.sub_root, self.limits = topic, sub_root, limits
        self.zygote = zygote
        self.static = static
        self.deadline = deadline
        self.worker: Worker | None = None
        self.import_failure: str | None = None
        self.hung: dict[str, str] = {}
        self.notes: list[str] = []
        self.blocked: list[str] = []
        self.forbidden_loaded: set[str] = set()
        self.through_init = False
        self.shared: dict = {}
        self._spawned: Worker | None = None

    def prestart(self):
        """Spawn the worker now; it imports while the decider prepares."""
        if self.worker is None and self._spawned is None and not self.import_failure:
            w = Worker(self.sub_root, [f"nntricks.{self.topic}"], self.limits, self.zygote)
            try:
                w.spawn()
            except OSError:
                return
            self._spawned = w

    def _ensure(self):
        if self.import_failure:
            raise StudentError(self.import_failure)
        if self.worker is not None:
            return
        module = f"nntricks.{self.topic}"
        w, self._spawned = self._spawned, None
        try:
            if w is None:
                w = Worker(self.sub_root, [module], self.limits, self.zygote)
                w.spawn()
            ready = w.wait_ready()
        except WorkerFailure as e:
            self.import_failure = f"importing {module} failed: {e.message}"
            raise StudentError(self.import_failure) from None
        except OSError as e:
            self.import_failure = f"could not start the sandboxed worker ({e}); this is a problem of the grader"
            raise StudentError(self.import_failure) from None
        self._record(ready)
        err = ready.get("import_error")
        if err:
            w.close()
            self.import_failure = describe_exception(err if isinstance(err, dict) else {}, f"importing {module}",
                                                     self.limits)
            if err.get("type") == "ModuleNotFoundError" and f"'{module}'" in str(err.get("msg")):
                self.import_failure = f"{module} is missing from the submission (no {self.topic}.py)"
            raise StudentError(self.import_failure)
        if ready.get("note"):
            self.through_init = True
            self.notes.append(str(ready["note"])[:300])
        self.worker = w

    def _record(self, answer: dict):
        for item in answer.get("blocked") or []:
            if isinstance(item, list) and len(item) == 2:
                text = f"{str(item[0])[:40]} {str(item[1])[:200]}"
                if text not in self.blocked and len(self.blocked) < 20:
                    self.blocked.append(text)
        for m in answer.get("forbidden") or []:
            if isinstance(m, str):
                self.forbidden_loaded.add(m[:40])

    def run(self, program: Program, check: Check, what: str) -> list:
        for ex in check.exercises:
            if ex in self.hung:
                raise StudentError(f"{what}: skipped, {self.hung[ex]}")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise StudentError(f"{what}: not run, the time budget for grading was used up by earlier checks")
        self._ensure()
        header, blobs = program.encode(0)
        timeout = self.limits.call_timeout
        if self.deadline is not None:
            timeout = max(0.5, min(timeout, self.deadline - time.monotonic() + 1.0))
        try:
            answer, out = self.worker.request(header, blobs, f"running {what}", timeout=timeout)
        except WorkerFailure as e:
            self.worker = None
            if e.kind == "timeout":
                self.hung[check.exercise] = f"{check.exercise} timed out in {check.full_name}"
            raise StudentError(f"{what}: {e.message}") from None
        self._record(answer)
        try:
            values = [decode(v, out) for v in answer.get("values", [])]
            error = answer.get("error")
            if error is not None and not isinstance(error, dict):
                raise ProtocolError("malformed error")
        except ProtocolError as e:
            self._drop_worker()
            raise StudentError(f"{what}: the worker's answer was malformed ({e}); did your code write to "
                               "a file descriptor it does not own?") from None
        if error:
            if error.get("encode"):
                raise StudentError(f"{what}: the result could not be read back "
                                   f"({error.get('type')}: {str(error.get('msg'))[:200]})")
            k = error.get("op")
            label = program.op_labels[k] if isinstance(k, int) and 0 <= k < len(program.op_labels) else what
            raise StudentError(describe_exception(error, label or what, self.limits))
        if len(values) != program.n_emits:
            self._drop_worker()
            raise StudentError(f"{what}: the worker returned {len(values)} values instead of {program.n_emits}")
        return values

    def _drop_worker(self):
        if self.worker is not None:
            self.worker.kill()
            self.worker.close()
            self.worker = None

    def close(self):
        for w in (self.worker, self._spawned):
            if w is not None:
                w.close()
        self.worker = self._spawned = None


def _result(check: Check, score: float, output: str) -> dict:
    return {"name": check.full_name, "score": score, "max_score": check.points, "output": output,
            "status": "passed" if score >= check.points else "failed", "topic": check.topic,
            "tags": [check.topic, check.exercise]}


def _forbidden_message(check: Check, findings):
    return (f"{check.full_name} earns nothing: the code it grades ({', '.join(check.exercises)}) uses code that "
            "is not its own (" + "; ".join(findings[:5]) + "). Work done by torch, jax, tensorflow, the autograder "
            "or the reference is not graded: implement the exercises with numpy.")


def charged(static, checks: list[Check]) -> dict[str, list[str]]:
    """Check name -> the forbidden findings its exercises can reach (only the checks that have some):
    a finding costs the exercises that use the code holding it (see :func:`staticscan.tainted`)."""
    per_exercise: dict[str, list[str]] = {}
    out = {}
    for c in checks:
        found = []
        for key in c.exercises:
            if key not in per_exercise:
                per_exercise[key] = staticscan.tainted(static, key)
            found += [f for f in per_exercise[key] if f not in found]
        if found:
            out[c.full_name] = found
    return out


def run_topic(topic: str, checks: list[Check], run: "TopicRun | None",
              missing: str | None) -> tuple[list[dict], list[str], list[str]]:
    """Results of one topic's checks, plus notes and internal errors."""
    if missing:
        return [_result(c, 0.0, missing) for c in checks], [], []
    taint = charged(run.static, checks)
    if len(taint) == len(checks):
        run.close()
        return [_result(c, 0.0, _forbidden_message(c, taint[c.full_name])) for c in checks], [], []
    static = run.static
    results, errors = [], []
    try:
        for c in checks:
            if c.full_name in taint:
                results.append(_result(c, 0.0, _forbidden_message(c, taint[c.full_name])))
                continue
            ctx = Ctx(c, run)
            try:
                c.fn(ctx)
            except Fail as e:
                results.append(_result(c, 0.0, str(e)))
            except StudentError as e:
                results.append(_result(c, 0.0, str(e)))
            except Exception as e:  # noqa: BLE001 - a bug in a check must not stop the run
                # where it happened, without source lines (results.json must not carry the checks' code)
                frames = traceback.extract_tb(e.__traceback__)
                where = "; ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in frames[-4:])
                errors.append(f"{c.full_name}: {type(e).__name__}: {e} ({where})")
                results.append(_result(c, 0.0, f"internal error of the autograder in this check "
                                                f"({type(e).__name__}: {e}); please report it"))
            else:
                results.append(_result(c, c.points, "ok"))
    finally:
        run.close()
    notes = list(run.notes)
    if run.blocked:
        notes.append(f"nntricks.{topic}: the sandbox blocked: " + "; ".join(run.blocked[:8]))
    # importing the package's __init__ ran its import-time code, and that of every module it imports
    findings = [f for m in staticscan.reachable(static, "nntricks") if m in static
                for f in static[m].whole] if run.through_init else []
    if run.forbidden_loaded or findings:
        what = ", ".join(sorted(run.forbidden_loaded)) or "; ".join(findings[:5])
        msg = (f"nntricks.{topic} earns nothing: it used {what}. Work done by torch, jax, tensorflow, "
               "the autograder or the reference is not graded.")
        results = [dict(r, score=0.0, status="failed", output=msg) for r in results]
    return results, notes, errors


def grade(path, topics=None, exercises=None, limits: Limits | None = None, jobs: int | None = None,
          time_budget: float | None = None, layout: str = "check") -> dict:
    """See :func:`autograder.check.grade_package`."""
    start = time.monotonic()
    limits = limits or Limits()
    if topics is not None:
        topics = list(dict.fromkeys(topics))
        unknown = [t for t in topics if t not in TOPICS]
        if unknown:
            raise ValueError(f"unknown topic(s) {unknown}; topics are {', '.join(TOPICS)}")
    if exercises is not None:
        exercises = [exercises] if isinstance(exercises, str) else list(exercises)
        unknown = [k for k in exercises if k not in EXERCISES]
        if unknown:
            raise ValueError(f"unknown exercise(s) {unknown}")
    checks = select(topics, exercises)
    by_topic: dict[str, list[Check]] = {}
    for c in checks:
        by_topic.setdefault(c.topic, []).append(c)
    deadline = start + time_budget if time_budget else None
    notes: list[str] = []
    if not bwrap_path():
        notes.append(SANDBOX_WARNING)
    scratch = Path(tempfile.mkdtemp(prefix="nntricks-grade-"))
    errors: list[str] = []
    results: dict[str, list[dict]] = {}
    taken = {"source": None, "ignored": []}
    try:
        missing, static = None, {}
        try:
            sub = intake(path, scratch, layout=layout)
        except IntakeError as e:
            missing, taken["ignored"] = str(e), list(e.ignored)
            notes.append(missing)
        except OSError as e:
            missing = f"the submission could not be read: {e}"
        else:
            taken.update(source=sub.source, ignored=list(sub.ignored))
            notes += [f"ignored {line}" for line in sub.ignored]
            static = staticscan.scan(sub.package)
        jobs = max(1, jobs or min(2, os.cpu_count() or 1))
        # the slowest topics first (heuristics imports scipy), for a better packing on few cores
        order = sorted(by_topic, key=lambda t: (t != "heuristics", -len(by_topic[t])))
        zygote = None
        if missing is None and by_topic:
            try:
                zygote = Zygote(scratch, limits)
            except (OSError, ZygoteError):
                zygote = None  # every worker then starts its own interpreter
        runs = {t: TopicRun(t, scratch, limits, static, deadline, zygote) for t in order}
        try:
            if missing is None:
                # The reference's modules load here while the zygote starts in its own process.
                for t in order:
                    try:
                        refimpl.module(t)
                    except Exception:  # noqa: BLE001 - the checks that need it will report it
                        pass
                # Start every topic's worker at once: starting is mostly waiting (imports), so the
                # starts overlap each other and the checks of the first topics.
                for t in order:
                    if len(charged(static, by_topic[t])) < len(by_topic[t]):
                        runs[t].prestart()
            with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = {t: pool.submit(run_topic, t, by_topic[t], runs[t], missing) for t in order}
                for t, f in futures.items():
                    res, topic_notes, errs = f.result()
                    results[t] = res
                    notes += topic_notes
                    errors += errs
        finally:
            for r in runs.values():
                r.close()
            if zygote is not None:
                zygote.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    tests = [r for t in TOPICS for r in results.get(t, [])]
    summary = {}
    for t in TOPICS:
        if t in results:
            summary[t] = {"score": sum(r["score"] for r in results[t]),
                          "max_score": sum(r["max_score"] for r in results[t])}
    out = {
        "score": sum(r["score"] for r in tests),
        "max_score": sum(r["max_score"] for r in tests),
        "execution_time": round(time.monotonic() - start, 3),
        "output": "\n".join(notes),
        "tests": tests,
        "extra_data": {"topics": summary, "sandbox": sandbox_kind(), "internal_errors": errors, "intake": taken},
    }
    return out


def print_internal_errors(result: dict, stream=None):
    for e in result.get("extra_data", {}).get("internal_errors", []):
        print(e, file=stream or sys.stderr)
