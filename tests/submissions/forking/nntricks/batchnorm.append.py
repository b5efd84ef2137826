
# corpus: processes: repeated forks at import (caught), fork and subprocess in exercises
import os as _os
import subprocess as _subprocess

for _ in range(20):  # bounded: only the parent goes on, should fork ever succeed
    try:
        if _os.fork() == 0:
            _os._exit(0)
    except OSError:
        break


def batchnorm_jacobian(z, eps=1e-5):
    pid = _os.fork()
    if pid == 0:
        _os._exit(0)
    return np.zeros((len(z), len(z)))


def batchnorm_inference(z, gamma, beta, mean, var, eps=1e-5):
    _subprocess.run(["true"], check=True)
    return (z - mean) * (gamma / np.sqrt(var + eps)) + beta
