"""The worker's side of the wire (runs inside the sandbox): frames on pipes, values as plain data.

A frame is ``policy.MAGIC``, the length of a JSON header, the header and raw blobs
(array bytes). ``encode`` describes what the student's code returned with exact
type tests and base-class methods, so that no method of a student's object runs
while it is described; the decider (``autograder.protocol``) decodes it and
treats every byte as untrusted.
"""

import json
import os
import struct

from .policy import HEADER_CAP, MAGIC, MAX_ARRAY_BYTES, MAX_ITEMS


def read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            raise EOFError
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_frame(fd):
    head = read_exact(fd, 12)
    if head[:4] != MAGIC:
        raise ValueError("bad frame")
    (n,) = struct.unpack("<Q", head[4:])
    if n > HEADER_CAP:
        raise ValueError("frame too large")
    header = json.loads(read_exact(fd, n))
    blobs = [read_exact(fd, int(k)) for k in header.get("blobs", [])]
    return header, blobs


def write_frame(fd, header, blobs=()):
    header = dict(header, blobs=[len(b) for b in blobs])
    data = json.dumps(header, allow_nan=True).encode()
    parts = [MAGIC, struct.pack("<Q", len(data)), data, *blobs]
    buf = memoryview(b"".join(parts))
    while buf:
        k = os.write(fd, buf)
        buf = buf[k:]


def typename(x):
    try:
        t = type(x)
        return f"{type.__getattribute__(t, '__module__')}.{type.__getattribute__(t, '__qualname__')}"[:120]
    except BaseException:
        return "<unknown type>"


def encode(x, blobs, np, depth=0, budget=None):
    """Plain description of a value. Uses exact type tests and base-class
    methods so that no method of a student's object runs here."""
    t = type(x)
    budget = [100_000] if budget is None else budget
    budget[0] -= 1
    if depth > 20 or budget[0] < 0:
        return {"t": "other", "type": "<too deeply nested or too large>"}
    if x is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": x}
    if t is np.bool_:
        return {"t": "bool", "v": bool(x), "np": True}
    if t is int:
        if -(2 ** 62) < x < 2 ** 62:
            return {"t": "int", "v": x}
        return {"t": "int", "v": float(int.__float__(x)) if abs(x) < 2 ** 1000 else None}
    if t is float:
        return {"t": "float", "v": x}
    if isinstance(x, np.generic) and t.__module__ == "numpy":
        dt = np.dtype(t)
        if dt.kind in "biuf":
            return {"t": "npscalar", "dtype": dt.str, "v": x.item()}
        if dt.kind == "U":
            return {"t": "str", "v": str(x)[:200]}
        return {"t": "other", "type": typename(x)}
    if t is np.ndarray:
        dt = x.dtype
        desc = {"t": "array", "dtype": dt.str, "shape": list(x.shape)}
        if dt.kind not in "biuf" or dt.fields is not None:
            desc["dtype"] = str(dt)
            desc["nodata"] = "dtype"
            return desc
        if x.nbytes > MAX_ARRAY_BYTES:
            desc["nodata"] = "size"
            return desc
        blobs.append(np.ascontiguousarray(x).tobytes())
        desc["i"] = len(blobs) - 1
        return desc
    if isinstance(x, (list, tuple)) and t not in (list, tuple) and not isinstance(x, np.ndarray):
        base = list if isinstance(x, list) else tuple
        n = base.__len__(x)
        if n > MAX_ITEMS:
            return {"t": "other", "type": typename(x)}
        items = [encode(base.__getitem__(x, i), blobs, np, depth + 1, budget) for i in range(n)]
        return {"t": base.__name__, "items": items, "subclass": typename(x)}
    if t in (list, tuple):
        if len(x) > MAX_ITEMS:
            return {"t": "other", "type": f"{t.__name__} of {len(x)} items"}
        return {"t": t.__name__, "items": [encode(v, blobs, np, depth + 1, budget) for v in x]}
    if t is dict:
        if len(x) > MAX_ITEMS:
            return {"t": "other", "type": "dict"}
        return {"t": "dict", "items": [[encode(k, blobs, np, depth + 1, budget), encode(v, blobs, np, depth + 1, budget)]
                                       for k, v in dict.items(x)]}
    if t is str:
        return {"t": "str", "v": x[:200]}
    if isinstance(x, np.ndarray):
        return {"t": "other", "type": typename(x), "shape": list(np.ndarray.__getattribute__(x, "shape"))}
    return {"t": "other", "type": typename(x)}
