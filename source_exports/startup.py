"""Process start-up of the `source-exports` command: what must be set before airbyte-cdk and pyarrow are imported.

Memory: pyarrow (26) allocates from mimalloc by default, which keeps ~12 MB more resident than
jemalloc on the CSV and Parquet readers (docs/performance.md), so `install()` asks for jemalloc
unless `ARROW_DEFAULT_MEMORY_POOL` is already set.

Time and memory: every `source-exports` command imports airbyte-cdk, which took about a second;
almost half of it was serpyco-rs reading attribute docstrings, which `cdk_seam.speed_up_serpyco`
makes fast, and the package `__init__` loads the CDK's declarative framework, which no command of
this connector uses: `cdk_seam.defer_package_init` skips it (~22 MB resident, ~0.4 s).

Time: numpy (which this package and pyarrow import) starts OpenBLAS with a thread per core, whose
start-up costs ~0.1 s of CPU on the other cores in every command; nothing here does linear
algebra, so `install()` asks for one thread (`OPENBLAS_NUM_THREADS`) unless it is already set.

pyarrow's remote filesystems (S3, GCS, Azure, HDFS), which `pyarrow.parquet` imports through
`pyarrow.fs` and the connector never uses (it reads files over HTTP), are not loaded: S3 alone
loads `libarrow_s3` and the AWS SDK, ~8 MB resident (`skip_remote_filesystems`).

Time: the cyclic garbage collector ran every 700 new container objects; reading an export makes
several per row (its dict, its JSON columns' objects), so young collections ran every ~150 rows and
walked the rows of the chunk in hand each time (~10 % of a PostHog events read's CPU).
`collect_less_often` sets the young generation's threshold to `YOUNG_THRESHOLD`; rows are freed by
reference counting as ever, and cycles wait at most that many allocations longer.

Time: loading airbyte-cdk and this package makes ~70,000 long-lived objects and almost no garbage,
yet the collector walked them in eleven collections (~50 ms, one of them 23 ms, of a ~0.55 s
start-up). `modules_uncollected` holds collection off while the modules load and then freezes
what they made (`gc.freeze`), so later collections skip it.

All of these change the process, so only a process of its own applies them (`command_start`: the
console script's `main`, and the benchmark's library route), never an import of the package.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import Iterator, List, Optional

from source_exports import cdk_seam

REMOTE_FILESYSTEMS = ("pyarrow._s3fs", "pyarrow._gcsfs", "pyarrow._azurefs", "pyarrow._hdfs")
"""pyarrow's remote filesystem modules; `pyarrow.fs` lists a filesystem whose module fails to import as not built."""


def skip_remote_filesystems() -> None:
    """Make importing pyarrow's remote filesystems fail (None in `sys.modules`); before pyarrow is imported."""
    for name in REMOTE_FILESYSTEMS:
        sys.modules.setdefault(name, None)


YOUNG_THRESHOLD = 10_000
"""New container objects between two collections of the youngest generation (Python's default: 700)."""


def collect_less_often() -> None:
    """Raise the youngest generation's collection threshold to `YOUNG_THRESHOLD`, the older ones' kept."""
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), older, oldest)


@contextlib.contextmanager
def modules_uncollected() -> Iterator[None]:
    """No cyclic collection inside; on leaving, every object made so far is frozen out of later collections."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def install() -> None:
    """pyarrow's allocator and filesystems, numpy's BLAS threads, serpyco-rs, the CDK's framework; before
    any of them is imported."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cdk_seam.speed_up_serpyco()
    cdk_seam.defer_package_init()
    skip_remote_filesystems()


@contextlib.contextmanager
def command_start() -> Iterator[None]:
    """Every start-up setting of the command; the modules imported inside load uncollected (`modules_uncollected`).

    `main` imports the protocol inside it; so does the benchmark's library route (`bench.library`), whose
    reads must run as the command's do.
    """
    with modules_uncollected():
        install()
        collect_less_often()
        yield


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point: start-up settings, then the Airbyte protocol (`run.run`)."""
    with command_start():
        from source_exports.run import run  # imports airbyte-cdk: after install()

    run(argv)
