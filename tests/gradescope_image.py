"""The Gradescope autograder proven on a bare Debian system.

``python tests/gradescope_image.py`` (as root, with ``debootstrap``; ``make gradescope-image-test``
runs it through ``tests/test_gradescope_image.py``):

1. builds a minimal Debian 12 root filesystem (``NNTRICKS_GRADESCOPE_SUITE=trixie``: Debian 13,
   Python 3.13) with ``debootstrap --variant=minbase`` from the Debian mirror apt already uses
   here (``/etc/apt/sources.list*``), cached in ``build/gradescope-image/base-<suite>`` between runs;
2. copies it to ``build/gradescope-image/image-<suite>``, builds the autograder zip
   (``python -m autograder gradescope``), unpacks it into the image's ``/autograder/source`` and
   runs ``setup.sh`` there as root, as Gradescope does when it builds its image (``chroot`` in a
   private mount and PID namespace, with ``/proc``, ``/dev`` and a fresh ``/tmp``);
3. runs ``/autograder/run_autograder`` on submissions laid out as Gradescope lays them out in
   ``/autograder/submission`` (the package as a folder, as loose files, as a zip; an independent
   correct package; the stubs; no package; a forged link; a hostile zip), each twice: in a
   container-like root (``pivot_root``: bubblewrap works) and in a ``chroot`` (bubblewrap cannot
   work: the process-limits fallback), and checks every ``results.json`` against Gradescope's
   format (https://gradescope-autograders.readthedocs.io/en/latest/specs/) and the expected score.

It prints the figures: the root filesystem's build time, setup.sh's time, the image's size and
each submission's grading time.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from autograder import gradescope  # noqa: E402
from autograder.checks import DOCUMENTED_POINTS  # noqa: E402

WORK = ROOT / "build" / "gradescope-image"
#: The Debian release: bookworm (Python 3.11) by default; NNTRICKS_GRADESCOPE_SUITE=trixie tests Python 3.13.
SUITE = os.environ.get("NNTRICKS_GRADESCOPE_SUITE", "bookworm")
BASE = WORK / f"base-{SUITE}"
IMAGE = WORK / f"image-{SUITE}"
FULL = float(sum(DOCUMENTED_POINTS.values()))
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
REF_IN_IMAGE = "/autograder/source/reference/nntricks/divergences.py"


def debian_mirror() -> str:
    """The Debian archive apt uses on this machine (deb822 ``URIs:`` or one-line ``deb`` entries)."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for f in files:
        text = f.read_text() if f.is_file() else ""
        for url in re.findall(r"^\s*(?:URIs:|deb(?:\s+\[[^]]*\])?)\s+(\S+)", text, re.M):
            if "security" not in url:
                return url
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list*")


def base_rootfs(log=print) -> float | None:
    """The cached minimal root filesystem; returns its build time in seconds (None: cached)."""
    if (BASE / ".nntricks-complete").is_file():
        return None
    partial = BASE.with_name(BASE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    mirror = debian_mirror()
    log(f"debootstrap --variant=minbase {SUITE} from {mirror} (cached afterwards in {BASE}) ...")
    t0 = time.monotonic()
    subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(partial), mirror], check=True,
                   stdout=subprocess.DEVNULL)
    (partial / ".nntricks-complete").write_text(f"{SUITE} {mirror}\n")
    shutil.rmtree(BASE, ignore_errors=True)
    partial.rename(BASE)
    return time.monotonic() - t0


#: Where this machine's CA bundle goes in the image: a machine that reaches PyPI through an
#: intercepting proxy (its CA in PIP_CERT) needs it; Gradescope's builders do not.
HOST_CA = "/etc/nntricks-host-ca.crt"


def in_image(*cmd, timeout=1800, check=True, container=True) -> subprocess.CompletedProcess:
    """Run ``cmd`` as root in the image, in its own mount and PID namespaces: with ``container``
    the image becomes the root of the mount namespace (``pivot_root``, as in a container, where
    bubblewrap can work), else a ``chroot`` (where the kernel refuses new user namespaces, so
    bubblewrap cannot: the process-limits fallback)."""
    ca = f"PIP_CERT={HOST_CA}" if (IMAGE / HOST_CA.lstrip("/")).is_file() else "NNTRICKS_NO_HOST_CA=1"
    env = (f"/usr/bin/env -i HOME=/root LANG=C.UTF-8 {ca} PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "
           "sh -c 'cd /autograder && \"$@\"' sh \"$@\"")
    enter = ('mkdir -p "$R/tmp/.old"; cd "$R"; pivot_root . tmp/.old; cd /; umount -l /tmp/.old; rmdir /tmp/.old; exec '
             if container else 'cd "$R"; exec chroot "$R" ')
    script = ('set -e; R="$1"; shift; mount --make-rprivate /; mount --bind "$R" "$R"; '
              'mount -t proc proc "$R/proc"; mount --rbind /dev "$R/dev"; mount -t tmpfs tmpfs "$R/tmp"; '
              + enter + env)
    return subprocess.run(["unshare", "--mount", "--pid", "--fork", "--kill-child", "--", "/bin/sh", "-c", script,
                           "sh", str(IMAGE), *cmd], capture_output=True, text=True, timeout=timeout, check=check)


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", "--one-file-system", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def installed() -> set[str]:
    """The Debian packages installed in the image."""
    out = subprocess.run(["chroot", str(IMAGE), "dpkg-query", "-W", "-f", "${Package}\\n"], capture_output=True,
                         text=True, check=True)
    return set(out.stdout.split())


def build_image(log=print) -> dict:
    """Fresh image from the cached root filesystem, the autograder unpacked, setup.sh run."""
    figures = {"rootfs_seconds": base_rootfs(log)}
    shutil.rmtree(IMAGE, ignore_errors=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(BASE), str(IMAGE)], check=True)
    shutil.copy("/etc/resolv.conf", IMAGE / "etc" / "resolv.conf")
    if os.environ.get("PIP_CERT"):
        shutil.copy(os.environ["PIP_CERT"], IMAGE / HOST_CA.lstrip("/"))
    source = IMAGE / "autograder" / "source"
    zip_path = WORK / "autograder.zip"
    gradescope.build(zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            zf.extract(info, source)
            os.chmod(source / info.filename, stat.S_IMODE(info.external_attr >> 16) or 0o644)
    before, base_packages = du(IMAGE), installed()
    log("running setup.sh in the image (apt-get, venv, pip) ...")
    t0 = time.monotonic()
    proc = in_image("/bin/bash", "/autograder/source/setup.sh", check=False)
    figures["setup_seconds"] = time.monotonic() - t0
    figures["setup_output"] = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"setup.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    shutil.copy(source / "run_autograder", IMAGE / "autograder" / "run_autograder")  # as Gradescope does
    figures["base_bytes"], figures["image_bytes"] = before, du(IMAGE)
    figures["bubblewrap"] = "bubblewrap works" in proc.stdout
    figures["packages_added"] = sorted(installed() - base_packages)
    return figures


# ---------------------------------------------------------------- submissions


def _write(dest: Path, files: dict):
    for name, data in files.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def _zip_bytes(entries) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, *mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (mode[0] if mode else stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def submissions(tmp: Path) -> dict:
    """{case: (fill(submission_dir), expected score, texts the output must contain)}."""
    from autograder_support import STUBS, build

    reference = {p.name: p.read_bytes() for p in sorted((ROOT / "reference" / "nntricks").glob("*.py"))}
    stubs = {p.name: p.read_bytes() for p in sorted(STUBS.glob("*.py"))}
    alt = build(tmp / "correct_alt", "correct_alt") / "nntricks"
    correct = {p.name: p.read_bytes() for p in sorted(alt.glob("*.py"))}

    def forged_link(d):
        _write(d / "nntricks", {k: v for k, v in stubs.items() if k != "divergences.py"})
        os.symlink(REF_IN_IMAGE, d / "nntricks" / "divergences.py")

    hostile = [(f"nntricks/{k}", v) for k, v in stubs.items() if k != "divergences.py"] + [
        ("nntricks/divergences.py", REF_IN_IMAGE.encode(), stat.S_IFLNK | 0o777),
        ("../../run_autograder", b"#!/bin/sh\necho pwned\n"),
        ("nntricks/../../../autograder/results/results.json", b'{"score": 1000}'),
        ("/autograder/results/results.json", b'{"score": 1000}'),
        ("__MACOSX/nntricks/._init.py", b"\0")]
    return {
        "folder": (lambda d: _write(d / "nntricks", reference), FULL, ["found at nntricks."]),
        "loose files": (lambda d: _write(d, reference), FULL, ["the top of your submission"]),
        "zip": (lambda d: _write(d, {"nntricks.zip": _zip_bytes([(f"nntricks/{k}", v) for k, v in reference.items()])}),
                FULL, ["nntricks.zip:nntricks"]),
        "correct (independent)": (lambda d: _write(d / "hw3" / "nntricks", correct), FULL, ["hw3/nntricks"]),
        "stubs": (lambda d: _write(d / "nntricks", stubs), 0.0, []),
        "no package": (lambda d: _write(d, {"notes.txt": "I forgot"}), 0.0, ["No nntricks package found"]),
        "forged link": (forged_link, 0.0, ["nntricks/divergences.py: a symbolic link"]),
        "hostile zip": (lambda d: _write(d, {"nntricks.zip": _zip_bytes(hostile)}), 0.0,
                        ["nntricks.zip:nntricks/divergences.py: a symbolic link",
                         "nntricks.zip:../../run_autograder: a path that leaves the zip",
                         "nntricks.zip:/autograder/results/results.json: an absolute path"]),
    }


def check_results(res: dict, expected: float, texts) -> list[str]:
    """What is wrong with ``res`` against Gradescope's format and the expected score."""
    errors = []
    num = (int, float)
    if not isinstance(res.get("score"), num) or not isinstance(res.get("tests"), list) or not res["tests"]:
        return ["no numeric score or no tests"]
    for key, kind in (("execution_time", num), ("output", str), ("extra_data", dict)):
        if key in res and not isinstance(res[key], kind):
            errors.append(f"{key} is not {kind}")
    for key in ("visibility", "stdout_visibility"):
        if res.get(key) not in VISIBILITY:
            errors.append(f"{key} = {res.get(key)!r}")
    if res.get("stdout_visibility") != "hidden":
        errors.append("stdout (the instructor's log) is visible to students")
    for t in res["tests"]:
        if not (isinstance(t.get("name"), str) and isinstance(t.get("output"), str)
                and isinstance(t.get("score"), num) and isinstance(t.get("max_score"), num)
                and 0 <= t["score"] <= t["max_score"]):
            errors.append(f"malformed test {t}")
        if t.get("status") not in (None, "passed", "failed") or t.get("visibility", "visible") not in VISIBILITY:
            errors.append(f"bad status/visibility in {t.get('name')}")
    total = sum(t["score"] for t in res["tests"])
    if not math.isclose(res["score"], total, abs_tol=1e-9):
        errors.append(f"score {res['score']} is not the sum of the tests' {total}")
    if not math.isclose(res["max_score"], FULL) or not math.isclose(res["score"], expected):
        errors.append(f"score {res['score']}/{res['max_score']}, expected {expected}/{FULL}")
    errors += [f"output lacks {x!r}" for x in texts if x not in res.get("output", "")]
    if "WITHOUT a filesystem/network sandbox" in res.get("output", ""):
        errors.append("the sandbox notice reached the students")
    return errors


def grade_in_image(fill, container=True) -> tuple[dict | None, str, float]:
    ag = IMAGE / "autograder"
    for d in ("submission", "results"):
        shutil.rmtree(ag / d, ignore_errors=True)
        (ag / d).mkdir()
    fill(ag / "submission")
    t0 = time.monotonic()
    proc = in_image("/autograder/run_autograder", timeout=900, check=False, container=container)
    seconds = time.monotonic() - t0
    path = ag / "results" / "results.json"
    return (json.loads(path.read_text()) if path.is_file() else None), proc.stdout + proc.stderr, seconds


#: The two ways a Gradescope container may be: bubblewrap works, or only process limits.
MODES = {"bubblewrap": True, "none (process limits only)": False}
LABELS = {"bubblewrap": "bubblewrap", "none (process limits only)": "limits only"}


def run_all(tmp: Path, log=print) -> tuple[dict, dict]:
    """Build the image and grade every case in both modes; returns
    (figures, {(case, sandbox): (errors, seconds, score, log)})."""
    from tqdm import tqdm

    figures = build_image(log)
    runner = (IMAGE / "autograder" / "run_autograder").read_bytes()
    outcome = {}
    runs = [(case, spec, mode) for case, spec in submissions(tmp).items() for mode in MODES]
    for case, (fill, expected, texts), mode in tqdm(runs, desc="submissions", file=sys.stdout):
        res, log_text, seconds = grade_in_image(fill, container=MODES[mode])
        errors = check_results(res, expected, texts) if res else [f"no results.json:\n{log_text[-2000:]}"]
        if res and res["extra_data"].get("sandbox") != mode:
            errors.append(f"graded with sandbox {res['extra_data'].get('sandbox')!r}, expected {mode!r}")
        if (mode != "bubblewrap") != ("WITHOUT a filesystem/network sandbox" in log_text):
            errors.append("the instructor's log does not say whether the sandbox ran")
        if (IMAGE / "autograder" / "run_autograder").read_bytes() != runner:
            errors.append("run_autograder was overwritten")
        outcome[case, mode] = (errors, seconds, res and res["score"], log_text)
    return figures, outcome


def main() -> int:
    import tempfile

    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        print("needs root and debootstrap (apt-get install debootstrap)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        figures, outcome = run_all(Path(tmp))
    rootfs = figures["rootfs_seconds"]
    print(f"rootfs (debootstrap minbase {SUITE}): " + ("cached" if rootfs is None else f"{rootfs:.0f} s"))
    print(f"setup.sh: {figures['setup_seconds']:.0f} s; bubblewrap works in the image: {figures['bubblewrap']}")
    print(f"image: {figures['image_bytes'] / 2**20:.0f} MiB ({(figures['image_bytes'] - figures['base_bytes']) / 2**20:.0f}"
          f" MiB added by setup.sh to a {figures['base_bytes'] / 2**20:.0f} MiB minimal Debian)")
    print(f"apt installed {len(figures['packages_added'])} packages: {' '.join(figures['packages_added'])}")
    for line in figures["setup_output"].splitlines():
        if line.startswith("setup.sh:"):
            print(f"  {line}")
    bad = 0
    for (case, mode), (errors, seconds, score, _) in outcome.items():
        print(f"{case:>22} ({LABELS[mode]:>11}): {score:g}/{FULL:g} in {seconds:.1f} s "
              + ("ok" if not errors else "FAILED: " + "; ".join(errors)))
        bad += bool(errors)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
