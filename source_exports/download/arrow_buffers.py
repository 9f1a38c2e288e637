"""pyarrow values built from buffers, for the row path and the vectorised path alike.

`pa.scalar("x")`, `pa.array([...])` and pyarrow compute calls given plain Python values first
check whether the value is a pandas object, which imports pandas: +45 MB RSS, a third of the
memory budget. Scalars and arrays built from buffers skip that check. pyarrow itself is imported
only when one is built.
"""

from __future__ import annotations

import functools
import struct
from typing import Any


@functools.lru_cache(maxsize=256)
def string_scalar(text: str) -> Any:
    """A pyarrow string scalar holding `text`, built from buffers (no pandas check)."""
    import pyarrow as pa

    data = text.encode()
    offsets = pa.py_buffer(struct.pack("<ii", 0, len(data)))
    return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])[0]
