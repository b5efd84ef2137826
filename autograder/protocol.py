"""The decider's side of the conversation with the sandboxed worker.

A *program* is a list of operations (call a function of the student's package,
call a method of a result, read an attribute, emit a value) on inputs that the
decider generated. It travels as JSON plus raw array bytes; the answer comes
back the same way and is decoded here into plain Python values: numpy arrays
(rebuilt from bytes, with a whitelisted dtype), floats, ints, bools, strings,
lists, tuples, dicts, and two markers, :class:`Opaque` (an object that is none
of these, described by its type name only) and :class:`Raised` (an exception
caught on purpose). Nothing is unpickled and no student object ever exists in
the deciding process, so a result cannot lie in a comparison.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

import numpy as np

from .worker.policy import BLOBS_CAP, HEADER_CAP, MAGIC

_DTYPES = {np.dtype(t).str for t in ("f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "b1")}
_DTYPES |= {np.dtype(t).newbyteorder(">").str for t in ("f8", "f4", "i8", "i4")}


class ProtocolError(Exception):
    """The worker's answer is malformed (or the student's code wrote into the channel)."""


class Deadline(Exception):
    """The worker did not answer in time."""


class Closed(Exception):
    """The worker's end of the channel is closed (the process died or exited)."""


# --------------------------------------------------------------------- values


class Opaque:
    """A returned object that is not plain data; only its description is known."""

    def __init__(self, what: str, shape=None):
        self.what, self.shape = what, shape

    def __repr__(self):
        return f"<{self.what}>"


class Raised:
    """An exception raised by the student's code in an operation marked ``catch``."""

    def __init__(self, info: dict):
        self.type = str(info.get("type", "?"))[:80]
        self.mro = [str(m)[:80] for m in info.get("mro", [])][:10]
        self.msg = str(info.get("msg", ""))[:500]
        self.where = str(info.get("where", ""))[:200]

    def is_a(self, name: str) -> bool:
        return name in self.mro

    def __repr__(self):
        return f"<raised {self.type}: {self.msg}>"


class NumpyBool(int):
    """A ``numpy.bool_`` returned by the student's code (kept distinct from bool)."""


def decode(desc, blobs, _depth=0):
    """Rebuild a plain value from the worker's description; never trusts sizes."""
    if _depth > 40 or not isinstance(desc, dict):
        raise ProtocolError("malformed value")
    t = desc.get("t")
    if t == "none":
        return None
    if t == "bool":
        v = desc.get("v")
        if not isinstance(v, bool):
            raise ProtocolError("malformed bool")
        return NumpyBool(v) if desc.get("np") else v
    if t == "int":
        v = desc.get("v")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ProtocolError("malformed int")
        return v
    if t == "float":
        v = desc.get("v")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ProtocolError("malformed float")
        return float(v)
    if t == "npscalar":
        dt, v = desc.get("dtype"), desc.get("v")
        if dt not in _DTYPES or isinstance(v, (dict, list, str)) or v is None:
            raise ProtocolError("malformed numpy scalar")
        return np.dtype(dt).type(v)
    if t == "array":
        shape = desc.get("shape")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape) or len(shape) > 32:
            raise ProtocolError("malformed array shape")
        if "nodata" in desc:
            why = "of dtype " + str(desc.get("dtype"))[:40] if desc["nodata"] == "dtype" else "too large to return"
            return Opaque(f"numpy array {why}", tuple(shape))
        dt, i = desc.get("dtype"), desc.get("i")
        if dt not in _DTYPES or not isinstance(i, int) or not 0 <= i < len(blobs):
            raise ProtocolError("malformed array")
        dtype = np.dtype(dt)
        n = 1
        for k in shape:
            n *= k
        if n * dtype.itemsize != len(blobs[i]):
            raise ProtocolError("array size does not match its shape")
        return np.frombuffer(blobs[i], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)
    if t in ("list", "tuple"):
        items = desc.get("items")
        if not isinstance(items, list):
            raise ProtocolError("malformed sequence")
        vals = [decode(d, blobs, _depth + 1) for d in items]
        return vals if t == "list" else tuple(vals)
    if t == "dict":
        items = desc.get("items")
        if not isinstance(items, list):
            raise ProtocolError("malformed dict")
        out = {}
        for pair in items:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ProtocolError("malformed dict item")
            k, v = decode(pair[0], blobs, _depth + 1), decode(pair[1], blobs, _depth + 1)
            try:
                hash(k)
            except TypeError:
                return Opaque("dict with unhashable keys")
            out[k] = v
        return out
    if t == "str":
        v = desc.get("v")
        if not isinstance(v, str):
            raise ProtocolError("malformed str")
        return v
    if t == "other":
        shape = desc.get("shape")
        return Opaque(str(desc.get("type", "?"))[:120], tuple(shape) if isinstance(shape, list) else None)
    if t == "exc":
        return Raised(desc)
    raise ProtocolError(f"unknown value kind {str(t)[:20]!r}")


# -------------------------------------------------------------------- programs


class Ref:
    """A value living in the worker: an input array or an operation's result."""

    def __init__(self, spec: dict, label: str = ""):
        self.spec, self.label = spec, label


class Program:
    """A script for the worker. Build it, then ``TopicRun.run(program)``; the
    answer is the list of emitted values, in order."""

    def __init__(self):
        self.ops: list[dict] = []
        self.arrays: list[np.ndarray] = []
        self.functions: set[str] = set()
        self._slots = 0
        self.n_emits = 0
        self.op_labels: list[str] = []  # what each operation is, for messages
        self._slot_labels: dict[int, str] = {}
        self.trace_emits: list[int] = []  # emit indices of line counts of traced calls

    # inputs
    def array(self, a) -> Ref:
        a = np.asarray(a)
        if a.dtype.str not in _DTYPES:
            raise TypeError(f"cannot send dtype {a.dtype}")
        self.arrays.append(np.ascontiguousarray(a))
        return Ref({"a": len(self.arrays) - 1})

    def _arg(self, x):
        if isinstance(x, Ref):
            return x.spec
        if isinstance(x, np.ndarray):
            return self.array(x).spec
        if isinstance(x, (bool, np.bool_)):
            return {"c": bool(x)}
        if isinstance(x, (int, np.integer)):
            return {"c": int(x)}
        if isinstance(x, (float, np.floating)):
            return {"c": float(x)}
        if x is None or isinstance(x, str):
            return {"c": x}
        if isinstance(x, list):
            return {"list": [self._arg(v) for v in x]}
        if isinstance(x, tuple):
            return {"tuple": [self._arg(v) for v in x]}
        if isinstance(x, dict):
            return {"dict": {str(k): self._arg(v) for k, v in x.items()}}
        raise TypeError(f"cannot send {type(x).__name__}")

    def _slot(self) -> int:
        self._slots += 1
        return self._slots

    def _op(self, op: dict, catch: bool, label: str = "") -> Ref:
        out = self._slot()
        op["out"] = out
        if catch:
            op["catch"] = True
            op["emit_index"] = self.n_emits
            self.n_emits += 1
        self.ops.append(op)
        self.op_labels.append(label)
        self._slot_labels[out] = label
        return Ref({"v": out}, label)

    def _plain(self, op: dict, label: str = "") -> int:
        self.ops.append(op)
        self.op_labels.append(label)
        self.n_emits += 1
        return self.n_emits - 1

    def label_of(self, obj: Ref) -> str:
        return obj.label or "the object"

    # operations
    def call(self, fn: str, *args, catch: bool = False, label: str = "", trace: bool = False, **kwargs) -> Ref:
        """``fn`` is ``"topic.name"`` or ``"topic.Class"``; a caught exception
        is emitted as a :class:`Raised` (and the operation's result is None).
        With ``trace``, the number of Python lines the call executed is
        emitted (see :meth:`traced`)."""
        module, _, name = fn.partition(".")
        self.functions.add(fn)
        op = {"op": "call", "module": module, "name": name, "args": [self._arg(a) for a in args],
              "kwargs": {k: self._arg(v) for k, v in kwargs.items()}}
        if trace:
            op["trace"] = True
            self.trace_emits.append(self.n_emits)
            self.n_emits += 1
        return self._op(op, catch, label or name)

    def method(self, obj: Ref, name: str, *args, catch: bool = False, label: str = "", **kwargs) -> Ref:
        return self._op({"op": "method", "obj": obj.spec["v"], "name": name,
                         "args": [self._arg(a) for a in args],
                         "kwargs": {k: self._arg(v) for k, v in kwargs.items()}}, catch,
                        label or f"{self.label_of(obj)}.{name}(...)")

    def getattr(self, obj: Ref, name: str, catch: bool = False) -> Ref:
        return self._op({"op": "getattr", "obj": obj.spec["v"], "name": name}, catch,
                        f"{self.label_of(obj)}.{name}")

    def item(self, obj: Ref, index: int) -> Ref:
        return self._op({"op": "item", "obj": obj.spec["v"], "index": int(index)}, False,
                        f"{self.label_of(obj)}[{index}]")

    def rng(self, seed: int) -> Ref:
        """A ``numpy.random.default_rng(seed)`` in the worker, shared by every use."""
        return self._op({"op": "rng", "seed": int(seed)}, False, "a seeded Generator")

    def scorer(self, table: dict) -> Ref:
        """A ``fit_and_score(**params)`` callable; ``table`` maps
        :func:`scorer_key` of a combination to its score."""
        return self._op({"op": "scorer", "table": table}, False, "fit_and_score")

    def emit(self, value) -> int:
        return self._plain({"op": "emit", "value": self._arg(value)},
                           f"returning {value.label}" if isinstance(value, Ref) and value.label else "returning a value")

    def same(self, a: Ref, b: Ref) -> int:
        """Emit whether two worker values are the same object."""
        return self._plain({"op": "is", "a": self._arg(a), "b": self._arg(b)}, "comparing identities")

    def calls(self, scorer: Ref) -> int:
        """Emit the list of combinations a scorer was called with."""
        return self._plain({"op": "calls", "obj": scorer.spec["v"]}, "reading the calls of fit_and_score")

    def encode(self, request_id: int) -> tuple[dict, list[bytes]]:
        arrays = [{"i": i, "dtype": a.dtype.str, "shape": list(a.shape)} for i, a in enumerate(self.arrays)]
        return {"id": request_id, "ops": self.ops, "arrays": arrays}, [a.tobytes() for a in self.arrays]


def scorer_key(params: dict) -> str:
    """The key under which a ``fit_and_score`` table stores a combination
    (matches the worker's lookup)."""
    return json.dumps(sorted([k, v] for k, v in params.items()), default=repr)


# ---------------------------------------------------------------------- framing


def write_frame(fd: int, header: dict, blobs, deadline: float) -> None:
    header = dict(header, blobs=[len(b) for b in blobs])
    data = json.dumps(header).encode()
    buf = memoryview(b"".join([MAGIC, struct.pack("<Q", len(data)), data, *blobs]))
    while buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Deadline
        _, w, _ = select.select([], [fd], [], left)
        if not w:
            continue
        try:
            k = os.write(fd, buf)
        except BlockingIOError:
            continue
        except (BrokenPipeError, OSError):
            raise Closed from None
        buf = buf[k:]


class FrameReader:
    """Reads frames from a non-blocking pipe, each within a deadline."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buf = bytearray()

    def _fill(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Deadline
            r, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if not r:
                continue
            try:
                chunk = os.read(self.fd, max(1 << 16, min(n - len(self.buf), 1 << 24)))
            except BlockingIOError:
                continue
            if not chunk:
                raise Closed
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read(self, deadline: float) -> tuple[dict, list[bytes]]:
        head = self._fill(12, deadline)
        if head[:4] != MAGIC:
            raise ProtocolError("the answer does not start with the frame marker")
        (n,) = struct.unpack("<Q", head[4:])
        if n > HEADER_CAP:
            raise ProtocolError("the answer's header is too large")
        try:
            header = json.loads(self._fill(n, deadline))
        except ValueError:
            raise ProtocolError("the answer's header is not JSON") from None
        if not isinstance(header, dict):
            raise ProtocolError("the answer's header is not an object")
        sizes = header.get("blobs", [])
        if not isinstance(sizes, list) or not all(isinstance(k, int) and k >= 0 for k in sizes) \
                or sum(sizes) > BLOBS_CAP:
            raise ProtocolError("the answer's arrays are malformed or too large")
        return header, [self._fill(k, deadline) for k in sizes]
