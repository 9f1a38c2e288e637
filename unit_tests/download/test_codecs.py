"""Codecs are chosen by magic bytes, whatever the file is called."""

import bz2
import gzip
import io
import lzma

import pytest
import zstandard

from source_exports.download.codecs import open_decoded

PAYLOAD = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(5000))


@pytest.mark.parametrize(
    "compress",
    [
        lambda data: data,
        gzip.compress,
        lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:]),  # multi-member gzip
        lambda data: zstandard.ZstdCompressor().compress(data),
        bz2.compress,
        lzma.compress,
    ],
    ids=["plain", "gzip", "gzip-multimember", "zstd", "bz2", "xz"],
)
def test_given_compressed_body_when_opening_then_bytes_are_the_original(compress):
    assert open_decoded(io.BytesIO(compress(PAYLOAD))).read() == PAYLOAD


def test_given_body_shorter_than_magic_when_opening_then_passes_through():
    assert open_decoded(io.BytesIO(b"a")).read() == b"a"
