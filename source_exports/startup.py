"""Process start-up of the `source-exports` command: what must be set before airbyte-cdk and pyarrow are imported.

Memory: pyarrow (26) allocates from mimalloc by default, which keeps ~12 MB more resident than
jemalloc on the CSV and Parquet readers (docs/performance.md), so `install()` asks for jemalloc
unless `ARROW_DEFAULT_MEMORY_POOL` is already set.

Time and memory: every `source-exports` command imports airbyte-cdk, which took about a second;
almost half of it was serpyco-rs reading attribute docstrings, which `cdk_seam.speed_up_serpyco`
makes fast, and the package `__init__` loads the CDK's declarative framework, which no command of
this connector uses: `cdk_seam.defer_package_init` skips it (~22 MB resident, ~0.4 s).

Both change the process, so only the command applies them (`main`, the console script), never an
import of the package.
"""

from __future__ import annotations

import os
from typing import List, Optional

from source_exports import cdk_seam


def install() -> None:
    """Choose pyarrow's allocator, speed up serpyco-rs, defer the CDK's framework; before either is imported."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    cdk_seam.speed_up_serpyco()
    cdk_seam.defer_package_init()


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point: start-up settings, then the Airbyte protocol (`run.run`)."""
    install()
    from source_exports.run import run  # imports airbyte-cdk: after install()

    run(argv)
