"""JupyterHub for the nntricks course (JupyterHub 5 or newer, one machine, Unix users).

Students log in with their Unix account (PAM, JupyterHub's default) and get
the student-mode JupyterLab: the course's Assignment List (fetch and submit
through the exchange in the course directory), Validate, and none of the
instructor's tools. Instructors (``INSTRUCTORS``) get the full nbgrader
interface on the course directory (formgrader, create assignment).
See hub/README.md for the set-up, from the empty machine to the first grades.
"""
import os

COURSE = os.environ.get("NNTRICKS_COURSE", "/srv/nntricks/course")  # holds nbgrader_config.py and exchange/
HUB = os.path.dirname(os.path.abspath(__file__))  # this folder: hub/ of the nntricks repository
VENV = os.environ.get("NNTRICKS_VENV", "/srv/nntricks/.venv")  # the course's environment (make setup)
INSTRUCTORS = {"instructor"}  # Unix user names of the instructors and graders

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)
c.JupyterHub.bind_url = "http://127.0.0.1:8000"  # put your TLS-terminating proxy in front of it
c.Authenticator.allow_all = True  # every Unix user of this machine may log in; or set allowed_users
c.Authenticator.admin_users = INSTRUCTORS
c.Spawner.cmd = [os.path.join(VENV, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"


def nntricks_environment(spawner):
    """Students: the student-mode configuration (hub/student). Instructors: the course directory's."""
    config = COURSE if spawner.user.name in INSTRUCTORS else os.path.join(HUB, "student")
    spawner.environment.update({"NNTRICKS_COURSE": COURSE, "JUPYTER_CONFIG_PATH": config})


c.Spawner.pre_spawn_hook = nntricks_environment
