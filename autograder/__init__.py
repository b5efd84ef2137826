"""Instructor tooling for the nntricks course: release builder, hidden checks,
isolated runner, nbgrader integration, feedback and grade export."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
REFERENCE = ROOT / "reference"  # holds the solved package, reference/nntricks
NOTEBOOKS = ROOT / "notebooks"  # the generated student workspace
SOLUTIONS = ROOT / "solutions"  # the nbgrader source notebooks
