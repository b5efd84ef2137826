"""nbgrader's settings for the nntricks course on a JupyterHub: the instructor's side.

Put this file in the course directory (``NNTRICKS_COURSE``, default
``/srv/nntricks/course``) and run every instructor command there. The exchange
lives inside the course directory, so one path holds the whole course and
nothing is shared with other courses in ``/srv/nbgrader/exchange``.
"""
import os

COURSE = os.environ.get("NNTRICKS_COURSE", "/srv/nntricks/course")

c = get_config()  # noqa: F821 (nbgrader's config loader defines it)
c.CourseDirectory.course_id = "nntricks"
c.CourseDirectory.root = COURSE
c.Exchange.root = os.path.join(COURSE, "exchange")
