"""Unwraps compressed byte streams, chosen by magic bytes rather than by file name.

Vendors name files inconsistently (a gzip body behind `.csv`, or an encoding set by a storage
proxy), so the first bytes decide. Plain data passes through untouched. Whatever a decoder
raises on damaged or truncated data (`EOFError`, `zlib.error`, zstd, bz2 and xz errors) becomes
one `CorruptFileError` naming the file, so the reader can download it again and then fail cleanly.
Decoders are read in bounded pieces, so a decompression bomb costs no more memory than a real file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import Any, BinaryIO, Callable, Dict, Tuple

import zstandard

from source_exports.errors import CorruptFileError, ExportsError

BUFFER_SIZE = 1 << 20

# magic bytes → (codec name, opener of a decompressing stream over the compressed one)
MAGIC: Dict[bytes, Tuple[str, Callable[[BinaryIO], BinaryIO]]] = {
    b"\x1f\x8b": ("gzip", lambda stream: gzip.GzipFile(fileobj=stream, mode="rb")),
    b"\x28\xb5\x2f\xfd": (
        "zstd",
        lambda stream: zstandard.ZstdDecompressor().stream_reader(
            stream, read_across_frames=True, read_size=BUFFER_SIZE
        ),
    ),
    b"BZh": ("bzip2", lambda stream: bz2.BZ2File(stream, mode="rb")),
    b"\xfd7zXZ\x00": ("xz", lambda stream: lzma.LZMAFile(stream, mode="rb")),
}
DECODER_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError, lzma.LZMAError)
"""What the decoders raise on damaged input (`gzip.BadGzipFile` is an OSError)."""


def open_decoded(raw: BinaryIO, name: str = "") -> BinaryIO:
    """Return a buffered stream of the decompressed bytes of `raw` (`name` is the file errors name)."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, BUFFER_SIZE)
    head = buffered.peek(8)[:8]
    for magic, (codec, opener) in MAGIC.items():
        if head.startswith(magic):
            return io.BufferedReader(_Checked(opener(buffered), codec, name), BUFFER_SIZE)
    return buffered


class _Checked(io.RawIOBase):
    """A decoder's output, with its failures on damaged input turned into `CorruptFileError`."""

    def __init__(self, decoder: Any, codec: str, name: str) -> None:
        super().__init__()
        self._decoder = decoder
        self._codec = codec
        self._name = name
        self.decoded = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            count = self._decoder.readinto(buffer)
        except ExportsError:
            raise  # the download itself failed: already named and classified
        except DECODER_ERRORS as error:
            raise CorruptFileError(
                f"The {self._codec} data is damaged or cut short after {self.decoded:,} decoded bytes: "
                f"{type(error).__name__}: {error}",
                file=self._name or None,
                hint="The body may have been cut in transit or still be being written: run the sync again; "
                "if it persists, the file is damaged at the vendor: re-run the export",
            ) from error
        self.decoded += count or 0
        return count or 0

    def close(self) -> None:
        self._decoder.close()
        super().close()
