"""Frames between the server and the child processes it starts (the authentication child,
the store's writer): a pickle, after its length. Pickle is safe here: the only peers are the
server and its own children, on pipes only they hold. No large body goes through a frame: the
store's writer gets a large S3 object as a file the server wrote (backends/s3_files.py).
"""

from __future__ import annotations

import os
import pickle
import struct
from typing import Any

_HEAD = struct.Struct(">I")  # the pickle's length
Part = bytes | memoryview


def frame_parts(value: object) -> list[Part]:
    """`value`'s frame, in the parts to write in order (`os.writev`): the pickle not copied."""
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return [_HEAD.pack(len(body)), body]


def frame(value: object) -> bytes:
    return b"".join(frame_parts(value))


def _checked(size: int, bound: int) -> int:
    if size > bound:
        raise ValueError(f"a frame of {size} bytes")
    return size


class Unframer:
    """The frames in a stream read in pieces of any size, as they complete: what every reader
    of frames uses, blocking or on an event loop."""

    def __init__(self, bound: int, chunk: int = 1 << 20) -> None:
        self._bound = bound
        self._buffer = bytearray()
        self._chunk = bytearray(chunk)  # what `read` reads into

    def read(self, fd: int) -> list[Any] | None:
        """The frames that what `fd` has now completes (one read; BlockingIOError when it has
        nothing); None at its end. Into a buffer kept for it: a new 1 MiB bytes object per
        read was an mmap, an mremap and a munmap, ~50 µs each time on this VM (strace)."""
        size = os.readv(fd, [self._chunk])
        if size == 0:
            return None
        with memoryview(self._chunk) as view:
            return self.feed(view[:size])

    def feed(self, data: bytes | memoryview) -> list[Any]:
        buffer = self._buffer
        buffer += data
        found: list[Any] = []
        start = 0
        while len(buffer) - start >= _HEAD.size:
            (size,) = _HEAD.unpack_from(buffer, start)
            at = start + _HEAD.size
            end = at + _checked(size, self._bound)
            if len(buffer) < end:
                break
            with memoryview(buffer) as view:  # released before the buffer is cut
                found.append(pickle.loads(view[at:end]))
            start = end
        del buffer[:start]
        return found
