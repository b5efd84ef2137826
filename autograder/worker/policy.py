"""What both sides of the sandbox agree on (standard library only: the worker imports it too).

One list of forbidden modules, used everywhere: the client hides them from the
sandbox's file system (``autograder.bwrap``), the worker's audit hook refuses to
import them (``confine``) and reports any that got loaded (``serve``), and the
static scan of a submission (``autograder.staticscan``) costs the exercises whose
code imports one (``staticscan.tainted``). One set of limits for the wire format, read by the
worker's frames (``wire``) and the decider's (``autograder.protocol``).
"""

#: Packages that would do a student's work (array frameworks with autograd, GPU
#: arrays) or that hold the grader (the autograder, the reference, nbgrader).
FORBIDDEN_MODULES = frozenset({
    "torch", "functorch", "torchgen", "torchvision", "torchaudio", "triton",
    "jax", "jaxlib", "flax", "tensorflow", "tensorflow_core", "keras", "tf_keras",
    "cupy", "mxnet", "paddle", "theano",
    "autograder", "reference", "nbgrader",
})
#: Also refused inside the worker, though importing them is no offence in the
#: student's own files (test runners there would read and write files of their own).
WORKER_ALSO_BLOCKS = frozenset({"pytest", "_pytest", "subprocess_tee"})

#: A frame: MAGIC, the JSON header's length (8 bytes, little-endian), the header, the blobs.
MAGIC = b"NTK1"
HEADER_CAP = 16 << 20  # bytes of JSON in one frame
BLOBS_CAP = 256 << 20  # bytes of arrays in one answer
MAX_ARRAY_BYTES = 64 << 20  # one array in an answer; a larger one is described without its data
MAX_ITEMS = 10_000  # items of one list, tuple or dict in an answer
