
# corpus: writes garbage into every file descriptor it can find
import os as _os

for _fd in range(3, 64):
    try:
        _os.write(_fd, b"NTK1\xff\xff\xff\xff\xff\xff\xff\x7f garbage " * 8)
    except OSError:
        pass
