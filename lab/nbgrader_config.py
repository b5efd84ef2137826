"""nbgrader's settings for a student's own JupyterLab (``make lab``): the Validate button.

The instructor's course settings (course id, exchange, gradebook) do not belong
here: students validate their notebooks, nothing else.
"""
c = get_config()  # noqa: F821 (nbgrader's config loader defines it)
c.Execute.timeout = 120  # seconds per cell: the longest experiments take about 30 s on 2 cores
