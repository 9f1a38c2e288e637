"""Unwraps compressed byte streams, chosen by magic bytes rather than by file name.

Vendors name files inconsistently (a gzip body behind `.csv`, or an encoding set by a storage
proxy), so the first bytes decide. Plain data passes through untouched.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import BinaryIO, Callable, Dict

import zstandard

BUFFER_SIZE = 1 << 20

# magic bytes → opener of a decompressing stream over the compressed one
MAGIC: Dict[bytes, Callable[[BinaryIO], BinaryIO]] = {
    b"\x1f\x8b": lambda stream: gzip.GzipFile(fileobj=stream, mode="rb"),
    b"\x28\xb5\x2f\xfd": lambda stream: zstandard.ZstdDecompressor().stream_reader(
        stream, read_across_frames=True, read_size=BUFFER_SIZE
    ),
    b"BZh": lambda stream: bz2.BZ2File(stream, mode="rb"),
    b"\xfd7zXZ\x00": lambda stream: lzma.LZMAFile(stream, mode="rb"),
}


def open_decoded(raw: BinaryIO) -> BinaryIO:
    """Return a buffered stream of the decompressed bytes of `raw`."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, BUFFER_SIZE)
    head = buffered.peek(8)[:8]
    for magic, opener in MAGIC.items():
        if head.startswith(magic):
            return io.BufferedReader(opener(buffered), BUFFER_SIZE)
    return buffered
