"""The code that runs INSIDE the sandbox, in the worker processes that run a student's package.

It is started as a script (``run.py``) with only the standard library and numpy,
never imports anything else of ``autograder``, and holds no check, no reference
and no expected value: the deciding process (``autograder.sandbox``) sends it
programs (calls of the student's functions on inputs it generated) and gets back
what the student's code returned, as JSON plus raw array bytes, never pickles.

- ``policy``: what both sides agree on: the forbidden modules, the wire format's limits;
- ``confine``: process limits, the seccomp filter and the audit hook a worker puts on itself;
- ``wire``: frames on the pipes, and values described without running the student's methods;
- ``serve``: the worker's life (import the student's modules, run programs), and the zygote.
"""
