"""The file-download export lifecycle: create → wait for Completed with files → the part ids.

PostHog builds an on-demand export (`file_download_batch_exports`) asynchronously. This module
only creates one for a window, polls it, and returns the ids of its files; downloading and
parsing belong to the vendor-neutral `download` package. States: Starting → Running →
Completed (files may appear one poll later), or a failed state with PostHog's `error`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from source_exports.errors import JobTimeout, VendorJobFailed
from source_exports.polling import PolledJob
from source_exports.vendors.posthog.client import PostHogClient
from source_exports.vendors.posthog.config import FileDownloadConfig
from source_exports.vendors.posthog.errors import VENDOR, TooManyConcurrentExports
from source_exports.vendors.posthog.windows import format_timestamp
from source_exports.windows import Window

IN_PROGRESS = frozenset({"Starting", "Running", "ContinuedAsNew"})
COMPLETED = "Completed"
HEARTBEAT_SECONDS = 60.0  # log at least this often while waiting, so a long export does not look hung
MAX_POLL_SECONDS = 60.0  # polls slow down (source_exports.polling) to one a minute, or poll_interval_seconds if longer
MAX_CONCURRENCY_WAIT = 300.0  # never wait longer than this for a free export slot at once
FILES_GRACE_POLLS = 10  # polls after "Completed" without files nor a record count before treating it as empty


@dataclass(frozen=True)
class CompletedExport:
    """A finished export: its id and the ids of its files, in PostHog's order."""

    id: str
    files: Tuple[str, ...]
    records_completed: Optional[int]


@dataclass(frozen=True)
class JobSettings:
    """How patiently to wait; all from the config (tests make them tiny)."""

    poll_interval_seconds: float
    poll_timeout_seconds: float
    concurrency_retries: int


class FileDownloadJob(PolledJob):
    """One on-demand export of `model` rows whose `_inserted_at` is in `window`.

    >>> job = FileDownloadJob(client, "events", window, file_config, settings, logger)  # doctest: +SKIP
    >>> export = job.run()  # doctest: +SKIP
    >>> export.files  # doctest: +SKIP
    ('0190…', '0190…')
    """

    def __init__(
        self,
        client: PostHogClient,
        model: str,
        window: Window,
        file_config: FileDownloadConfig,
        settings: JobSettings,
        logger: logging.Logger,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(sleep, clock)
        self.client = client
        self.model = model
        self.window = window
        self.file_config = file_config
        self.settings = settings
        self.logger = logger

    @property
    def label(self) -> str:
        return f"{self.model} export {self.window.describe(format_timestamp)}"

    def payload(self) -> Dict[str, Any]:
        """The POST body PostHog's file-download endpoint expects."""
        body: Dict[str, Any] = {
            "model": self.model,
            "file": {"format": self.file_config.format, "compression": self.file_config.compression},
            "data_interval_start": format_timestamp(self.window.start),
            "data_interval_end": format_timestamp(self.window.end),
        }
        if self.file_config.include:
            body["include"] = list(self.file_config.include)
        if self.file_config.exclude:
            body["exclude"] = list(self.file_config.exclude)
        return body

    def run(self) -> CompletedExport:
        return self.wait(self.create())

    def create(self) -> str:
        """Create the export, waiting for a free slot while PostHog says too many are running."""
        wait = self.settings.poll_interval_seconds
        for attempt in range(self.settings.concurrency_retries + 1):
            try:
                export_id = self.client.create_file_download(self.payload())
            except TooManyConcurrentExports as busy:
                if attempt >= self.settings.concurrency_retries:
                    raise TooManyConcurrentExports(
                        f"PostHog refused to start the {self.label} {attempt + 1} times: {busy.message}",
                        vendor=VENDOR,
                        request_id=busy.context.get("request_id"),
                        hint="Too many file downloads run for this team; let them finish or raise "
                        "posthog.concurrency_retries",
                    ) from busy
                pause = min(busy.retry_after if busy.retry_after is not None else wait, MAX_CONCURRENCY_WAIT)
                self.logger.info(
                    f"PostHog: too many file downloads running; waiting {pause:g} s before creating the {self.label} "
                    f"(attempt {attempt + 1} of {self.settings.concurrency_retries + 1})"
                )
                self.sleep(pause)
                wait = min(wait * 2, MAX_CONCURRENCY_WAIT)
                continue
            self.logger.info(f"PostHog: created {self.label} (id {export_id})")
            return export_id
        raise AssertionError("unreachable")  # the loop returns or raises

    def wait(self, export_id: str) -> CompletedExport:
        """Poll until Completed with files (or a record count of 0); raise on failure or timeout."""
        schedule = self.schedule(
            self.settings.poll_interval_seconds,
            self.settings.poll_timeout_seconds,
            MAX_POLL_SECONDS,
            f"PostHog's {self.label} (id {export_id})",
        )
        last_log = self.clock()
        last_status: Optional[str] = None
        empty_completed_polls = 0
        for _ in schedule.polls():
            export = self.client.get_file_download(export_id)
            status = str(export.get("status") or "Starting")
            waited = schedule.elapsed
            if status == COMPLETED:
                done = self._completed(export_id, export, empty_completed_polls)
                if done is not None:
                    records = "?" if done.records_completed is None else f"{done.records_completed:,}"
                    self.logger.info(
                        f"PostHog: {self.label} (id {export_id}) completed in {waited:,.1f} s: "
                        f"{len(done.files)} file(s), {records} records"
                    )
                    return done
                empty_completed_polls += 1
            elif status not in IN_PROGRESS:
                raise self._failure(export_id, status, export)
            if status != last_status or self.clock() - last_log >= HEARTBEAT_SECONDS:
                self.logger.info(f"PostHog: {self.label} (id {export_id}) is {status} after {waited:,.0f} s")
                last_status, last_log = status, self.clock()
        raise JobTimeout(
            f"The {self.label} was still {status} after {waited / 60:,.1f} minutes",
            vendor=VENDOR,
            job_id=export_id,
            state=status,
            hint="Raise posthog.poll_timeout_minutes or lower posthog.window_days; the sync can be retried",
        )

    def _completed(
        self, export_id: str, export: Mapping[str, Any], polls_without_files: int
    ) -> Optional[CompletedExport]:
        """The finished export, or None while its files are still being listed."""
        files = tuple(file_id_of(item) for item in export.get("files") or [])
        records = export.get("records_completed")
        count = int(records) if isinstance(records, (int, float)) else None
        if files or count == 0:
            return CompletedExport(export_id, files, count)
        if count is None and polls_without_files >= FILES_GRACE_POLLS:
            self.logger.warning(
                f"PostHog: {self.label} (id {export_id}) completed without files or a record count "
                f"after {FILES_GRACE_POLLS} polls; treating it as empty"
            )
            return CompletedExport(export_id, (), None)
        return None

    def _failure(self, export_id: str, status: str, export: Mapping[str, Any]) -> VendorJobFailed:
        error = export.get("error") or export.get("latest_error") or "no error message"
        hint = "Check the export's logs in PostHog; the next sync creates a new export for this window"
        billing = status == "FailedBilling"
        if billing:
            hint = "PostHog refused the export for billing reasons; check the organisation's plan"
        return VendorJobFailed(
            f"PostHog's {self.label} ended {status}: {error}",
            vendor=VENDOR,
            job_id=export_id,
            state=status,
            hint=hint,
            account=billing,
        )


def file_id_of(item: Any) -> str:
    """A file entry is a uuid string (or, defensively, an object with an id or key)."""
    if isinstance(item, Mapping):
        return str(item.get("id") or item.get("key") or item.get("uuid"))
    return str(item)
