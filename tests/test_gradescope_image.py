"""The Gradescope autograder on a bare Debian system (tests/gradescope_image.py): setup.sh
installs only what grading needs, and run_autograder grades every kind of upload right, with
and without bubblewrap.

It needs root, debootstrap and the network (apt and PyPI), and takes about 3 minutes (plus
about 30 s for the root filesystem the first time; it is cached in build/gradescope-image/), so
it runs only when asked: ``make gradescope-image-test`` (NNTRICKS_GRADESCOPE_IMAGE=1).
"""

import os
import shutil

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("NNTRICKS_GRADESCOPE_IMAGE") != "1" or os.geteuid() != 0 or not shutil.which("debootstrap"),
    reason="the Gradescope image test runs with NNTRICKS_GRADESCOPE_IMAGE=1, as root, with debootstrap "
           "(make gradescope-image-test)")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    import gradescope_image

    return gradescope_image.run_all(tmp_path_factory.mktemp("image"), log=lambda *a: None)


def test_setup_installs_only_what_grading_needs(image):
    figures, _ = image
    added = set(figures["packages_added"])
    assert {"python3", "python3-venv", "bubblewrap"} <= added
    assert not added & {"gcc", "g++", "cpp", "perl", "python3-dev", "python3-pip", "build-essential"}, added
    assert figures["image_bytes"] - figures["base_bytes"] < 100 << 20  # measured: 61 MiB (Debian 12)
    out = figures["setup_output"]
    assert "setup.sh: Python 3." in out and "numpy 2." in out
    assert "setup.sh: bubblewrap works" in out  # the container-like root allows it
    assert "Ignoring numpy" not in out


def test_every_submission_graded_as_expected_in_both_sandbox_modes(image):
    _, outcome = image
    failures = {f"{case} ({mode})": errors for (case, mode), (errors, *_rest) in outcome.items() if errors}
    assert not failures, failures
    assert len(outcome) == 16
