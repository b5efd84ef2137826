"""``python -m autograder COMMAND ...``: the instructors' command line.

Commands (see DESIGN.md, "Command-line contract"):
  release     regenerate notebooks/ from reference/ and solutions/
  check       grade one nntricks package with the hidden checks
  grade       grade a whole class of nbgrader submissions
  gradescope  build a Gradescope autograder zip
  execute     run the solution notebooks in place (or time them with --autograde)
  insights    what the class got wrong: an offline HTML page and a CSV from a graded course
"""

import importlib
import sys

COMMANDS = {
    "release": "autograder.release",
    "check": "autograder.check",
    "grade": "autograder.grading",
    "gradescope": "autograder.gradescope",
    "execute": "autograder.execute",
    "insights": "autograder.insights",
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
