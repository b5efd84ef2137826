"""GitHub Classroom: turn the checks' ``results.json`` into the points Classroom reads.

Used by the template workflow ``classroom/.github/workflows/classroom.yml``::

    python -m autograder check "$GITHUB_WORKSPACE" --json results.json
    python -m autograder.classroom results.json >> "$GITHUB_OUTPUT"

GitHub Classroom's reporter action (``classroom-resources/autograding-grading-reporter``)
reads, for each runner id listed in its ``runners`` input, the environment
variable ``<ID>_RESULTS``: a base64-encoded JSON object ``{"version": 1,
"status": "pass" | "fail" | "error", "max_score": N, "tests": [{"name",
"status", "score", "message", ...}]}``. It sums the tests' ``score`` against
the runners' ``max_score`` and posts "Points S/N" on the check run, which is
what the Classroom dashboard shows. This module writes that object as the
step output ``result`` (one line ``result=<base64>``), one test per hidden
check with its points and its message (the likely mistake), so a student sees
the same feedback as ``python -m autograder check`` prints.

Standard library only; exit status 0 whenever a result was written, 2 when
the results file is missing or malformed (the workflow then fails loudly
instead of reporting 0 points).
"""

import argparse
import base64
import json
import sys

#: Classroom's logs show each message; keep one check's text readable.
MAX_MESSAGE = 4000


def runner_result(results: dict) -> dict:
    """The Classroom runner object for a ``results.json`` dict of ``python -m autograder check``."""
    tests = []
    for t in results["tests"]:
        max_score = max(0.0, float(t.get("max_score") or 0.0))
        score = min(max(0.0, float(t.get("score") or 0.0)), max_score)  # a forged file cannot report more
        tests.append({
            "name": t["name"],
            "status": "pass" if score >= max_score else "fail",
            "score": round(score, 4),
            "max_score": max_score,
            "message": str(t.get("output") or "")[:MAX_MESSAGE],
            "test_code": f"python -m autograder check --topic {t['name'].split('.')[0]}",
            "filename": "",
            "line_no": 0,
            "duration": 0,
        })
    max_score = float(results.get("max_score") or sum(t["max_score"] for t in tests))
    return {
        "version": 1,
        "status": "pass" if tests and all(t["status"] == "pass" for t in tests) else "fail",
        "max_score": max_score,
        "tests": tests,
    }


def encode(result: dict) -> str:
    return base64.b64encode(json.dumps(result).encode()).decode("ascii")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.classroom",
                                     description="Write GitHub Classroom's runner result for a results.json.")
    parser.add_argument("results", metavar="RESULTS_JSON", help="written by python -m autograder check --json")
    parser.add_argument("--name", default="result", help="the step output's name (default: result)")
    args = parser.parse_args(argv)
    try:
        with open(args.results, encoding="utf-8") as f:
            result = runner_result(json.load(f))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: {args.results} is not a results.json of python -m autograder check: {e}", file=sys.stderr)
        return 2
    print(f"{args.name}={encode(result)}")
    score = sum(t["score"] for t in result["tests"])
    print(f"nntricks: {score:g}/{result['max_score']:g} points", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
