"""nbgrader's settings for a student's server on the nntricks JupyterHub.

JupyterHub starts every student's server with ``JUPYTER_CONFIG_PATH`` pointing
at this folder (see ``hub/jupyterhub_config.py``): the Assignment List fetches
and submits through the course's exchange, Validate checks a notebook, and the
instructor's tools are off.
"""
import os

COURSE = os.environ.get("NNTRICKS_COURSE", "/srv/nntricks/course")

c = get_config()  # noqa: F821 (nbgrader's config loader defines it)
c.CourseDirectory.course_id = "nntricks"
c.Exchange.root = os.path.join(COURSE, "exchange")
c.Execute.timeout = 120  # seconds per cell for Validate: the longest experiments take about 30 s
