"""`RunOutputExporter`: one configured run output → export files → rows, one time window at a time.

Cargo exports the outputs of at most 10,000 runs at once; a window that holds more is answered
with `tooManyRuns`, so the exporter splits it near its middle, at a millisecond no run sits on
(`FreeEdges`), and tries each part, recursively. When no such millisecond is left inside — the
window's runs share one millisecond — the sync fails naming the window. `noRunsFound` is an
empty window. The file itself is read by the vendor-neutral `ExportFileReader`; when its signed
URL expires, `mint` asks Cargo for the same export again.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

from source_exports.download.fetch import SizeListener
from source_exports.download.parsers import Row
from source_exports.download.reader import ExportFile, ExportFileReader
from source_exports.errors import ConfigError, DownloadError, ExportsError
from source_exports.redact import file_name_of
from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import RunOutputConfig
from source_exports.vendors.cargo.edges import FreeEdges
from source_exports.vendors.cargo.errors import NoRunsFound, TooManyRuns
from source_exports.vendors.cargo.windows import filters, iso, middle, shown
from source_exports.windows import Window

LOGGER = logging.getLogger("airbyte")

WINDOW_START_COLUMN = "_ab_window_start"
WINDOW_END_COLUMN = "_ab_window_end"
WORKFLOW_COLUMN = "_ab_workflow_uuid"

SAMPLE_ROWS_PER_RUN = 10  # a run usually gives one row; leave room without reading a huge file

WindowDone = Callable[[Window], None]


class RunOutputExporter:
    """Exports one run output window by window.

    >>> exporter = RunOutputExporter(client, output, stream="enriched_leads")  # doctest: +SKIP
    >>> for row in exporter.export(Window(start, end), on_done=lambda window: save(window.end)):  # doctest: +SKIP
    ...     print(row["_ab_source_row"])
    """

    def __init__(
        self,
        client: CargoClient,
        output: RunOutputConfig,
        stream: str,
        reader: Optional[ExportFileReader] = None,
        logger: logging.Logger = LOGGER,
        on_size: Optional[SizeListener] = None,
    ) -> None:
        self.client = client
        self.output = output
        self.stream = stream
        self.reader = reader or ExportFileReader(logger=logger)
        self.logger = logger
        self.on_size = on_size
        """Told each export file's size as its download starts (the stream's progress estimate)."""
        self.edges = FreeEdges(client, output.run_filters())
        """Edges are checked against every run of the workflow (statuses change; release and batch do not)."""

    @property
    def context(self) -> Dict[str, Any]:
        return {"stream": self.stream, "field": self.output.field}

    def export(self, window: Window, on_done: Optional[WindowDone] = None, batches: bool = False) -> Iterator[Row]:
        """Yield the rows (or batches, `ExportFileReader.records`) of every run created in `window`; call
        `on_done(part)` after each part's last row."""
        body = {**self.output.export_body(), **filters(window, "created")}
        try:
            url = self.client.request_export(body, self.context)
        except NoRunsFound:
            self.logger.info(f"{self.stream}: no runs in {shown(window)}")
        except TooManyRuns as signal:
            half = self.edges.near(middle(window), window)
            if half is None:
                raise ConfigError(
                    f"More runs were created in {shown(window)} than Cargo exports at once, and the window cannot be "
                    f"split further: runs sit on every millisecond tried near its middle ({self.edges.max_probes} "
                    f"at most; Cargo: {signal.message})",
                    hint="Narrow the export with statuses, release_uuid or batch_uuid, or ask Cargo support to "
                    "export these runs",
                    **self.context,
                ) from signal
            self.logger.info(
                f"{self.stream}: too many runs in {shown(window)} for one export; splitting it in two at {iso(half)}"
            )
            for part in window.split(half):
                yield from self.export(part, on_done, batches)
            return
        else:
            yield from self.reader.records(self._export_file(body, url, window), batches)
        if on_done is not None:
            on_done(window)

    def sample(self, runs: int) -> Optional[List[Row]]:
        """Rows of an export of the `runs` most recent runs (for the schema); None when there is no run yet."""
        filters = self.output.run_filters()
        if self.output.statuses:
            filters["statuses"] = list(self.output.statuses)
        count = self.client.count_runs(filters) or 0
        body = {**self.output.export_body(), "limit": runs, "offset": max(0, count - runs)}
        try:
            url = self.client.request_export(body, self.context)
        except NoRunsFound:
            return None
        return self.reader.sample(self._export_file(body, url, window=None), limit=runs * SAMPLE_ROWS_PER_RUN)

    def _export_file(self, body: Mapping[str, Any], url: str, window: Optional[Window]) -> ExportFile:
        name = file_name_of(url)
        metadata = {
            WINDOW_START_COLUMN: iso(window.start) if window else None,
            WINDOW_END_COLUMN: iso(window.end) if window else None,
            WORKFLOW_COLUMN: self.output.workflow_uuid,
        }
        return ExportFile(name, self._minter(body, url, name), self.output.format, metadata, on_size=self.on_size)

    def _minter(self, body: Mapping[str, Any], first_url: str, name: str) -> Callable[[], str]:
        """The first call returns the URL already minted; later calls (expired URL) ask Cargo again."""
        pending = [first_url]

        def mint() -> str:
            if pending:
                return pending.pop()
            try:
                url = self.client.request_export(body, self.context)
            except ExportsError as error:
                raise DownloadError(
                    f"The download link expired and Cargo could not export the same runs again: {error.message}",
                    file=name,
                    **self.context,
                ) from error
            if file_name_of(url) != name:
                self.logger.warning(
                    f"{self.stream}: the fresh export is a different file ({file_name_of(url)} instead of {name}); "
                    "runs of this window changed while it was read"
                )
            return url

        return mint
