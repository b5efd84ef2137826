"""Reading notebooks for the record: which test cells the student changed, what went wrong in each cell."""

from __future__ import annotations

import nbformat

from ..feedback import clean, error_message


def cells_by_id(path):
    """``{grade_id: (cell_type, source, is_solution)}`` of the nbgrader cells of a notebook file, in order
    (None when the file cannot be read)."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, nbformat.reader.NotJSONError, nbformat.ValidationError, ValueError, KeyError):
        return None
    out = {}
    for c in nb.cells:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id"):
            out[meta["grade_id"]] = (c.cell_type, c.source, bool(meta.get("solution")))
    return out


def restored_cells(released_path, submitted_path) -> list[str]:
    """The released notebook's test cells that the student deleted or changed (nbgrader puts the
    originals back from the gradebook; the feedback says so)."""
    released = cells_by_id(released_path) or {}
    submitted = cells_by_id(submitted_path)
    if submitted is None:
        return []
    return [gid for gid, cell in released.items() if not cell[2] and submitted.get(gid) != cell]


def notebook_notes(path) -> dict[str, str]:
    """``{grade_id: message}``: what went wrong in each graded cell of an autograded notebook (errors, and
    stderr output, which nbgrader scores 0), cleaned of tracebacks."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, nbformat.reader.NotJSONError, nbformat.ValidationError, ValueError):
        return {}
    notes = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not gid or cell.cell_type != "code":
            continue
        msgs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                msgs.append(error_message(out))
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                msgs.append("wrote to stderr (nbgrader gives 0 for any stderr output in a test cell): "
                            + clean(out.get("text", ""), 500))
        if msgs:
            notes[gid] = "\n".join(msgs)
    return notes
