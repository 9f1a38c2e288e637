"""Export-task lifecycle: find a DONE export, or create → execute → poll one; then its result file.

Spaaza tasks go READY → INPROGRESS → DONE | ERROR. `SpaazaExportJob` creates an export task,
runs it now, and polls `GET /tasks/{id}` with a growing interval until it ends or the
configured timeout passes, logging the state and elapsed time at every poll (the log lines
double as heartbeats while a large export runs). `DoneExports` finds the newest DONE export of
each index for the "read what exists" mode. `result_file` turns a DONE task into an
`ExportFile` whose URL is minted just before download and re-minted when storage says expired.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

import pendulum

from source_exports.download.formats import format_for_filename
from source_exports.download.reader import ExportFile
from source_exports.errors import JobTimeout, VendorJobFailed
from source_exports.polling import PolledJob
from source_exports.redact import file_name_of
from source_exports.vendors.spaaza.client import SpaazaClient, Task
from source_exports.vendors.spaaza.config import EXPORT_FORMATS, SpaazaConfig
from source_exports.vendors.spaaza.errors import VENDOR, TaskNotDone
from source_exports.vendors.spaaza.segments import iso

LOGGER = logging.getLogger("airbyte")

DONE, ERROR = "DONE", "ERROR"
TASK_ID_COLUMN = "_ab_task_id"
DESC_PREFIX = "Airbyte source-exports"
"""Start of the `desc` of every task this connector creates (recognisable in Spaaza's console)."""
MAX_POLL_INTERVAL_SECONDS = 60.0
MAX_NOT_DONE_RETRIES = 3
MAX_LOG_ENTRIES_IN_ERROR = 5


def state_code(task: Mapping[str, Any]) -> str:
    state = task.get("state")
    return str(state.get("code") or "") if isinstance(state, Mapping) else ""


def export_index_of(task: Mapping[str, Any]) -> Optional[str]:
    target = task.get("target")
    if isinstance(target, Mapping) and target.get("action") == "export":
        return target.get("export_index")
    return None


def is_connector_window_task(task: Mapping[str, Any]) -> bool:
    """A date-window export this connector created: a slice of the data, never "the" export of an index."""
    trigger = task.get("trigger")
    has_segment = isinstance(trigger, Mapping) and bool(trigger.get("segment"))
    return str(task.get("desc") or "").startswith(DESC_PREFIX) and has_segment


def newest_first_key(task: Mapping[str, Any]) -> tuple:
    """Sort key: last run date, then id (ids grow over time). Unparseable dates sort as oldest."""
    state = task.get("state") if isinstance(task.get("state"), Mapping) else {}
    try:
        ran = pendulum.parse(str(state.get("last_run_date"))).timestamp()
    except Exception:  # noqa: BLE001 - any odd date sorts as oldest rather than failing the sync
        ran = float("-inf")
    task_id = task.get("id")
    return ran, task_id if isinstance(task_id, (int, float)) else -1


def log_text(task: Mapping[str, Any], limit: int = MAX_LOG_ENTRIES_IN_ERROR) -> str:
    """The task's last log entries as one line (entries may be strings or objects with a message)."""
    entries = task.get("logs") if isinstance(task.get("logs"), list) else []
    texts: List[str] = []
    for entry in entries[-limit:]:
        if isinstance(entry, Mapping):
            text = entry.get("message") or entry.get("msg") or entry.get("text") or entry.get("description")
            level = entry.get("level")
            texts.append(f"{level}: {text}" if level and text else str(text or dict(entry)))
        else:
            texts.append(str(entry))
    return " | ".join(texts) or "(the task has no log entries)"


class DoneExports:
    """The newest DONE export task per index, from one listing of `GET /tasks?status=DONE&action=export`."""

    def __init__(self, client: SpaazaClient) -> None:
        self.client = client
        self._newest: Optional[Dict[str, Task]] = None

    def newest(self, index: str, export_format: Optional[str] = None) -> Optional[Task]:
        """The newest DONE export of `index` (of `export_format` when one exists), else None."""
        candidates = [task for task in self._tasks() if export_index_of(task) == index]
        if export_format:
            same_format = [task for task in candidates if target_format(task) == export_format]
            candidates = same_format or candidates
        return max(candidates, key=newest_first_key, default=None)

    def _tasks(self) -> List[Task]:
        if self._newest is None:
            tasks = self.client.iter_tasks(status=DONE, action="export")
            # The filters are the server's; check them again so a server that ignores them cannot mislead us.
            self._newest = {
                task["id"]: task
                for task in tasks
                if state_code(task) == DONE and export_index_of(task) and not is_connector_window_task(task)
            }
        return list(self._newest.values())


def target_format(task: Mapping[str, Any]) -> Optional[str]:
    target = task.get("target")
    value = target.get("export_format") if isinstance(target, Mapping) else None
    return value if value in EXPORT_FORMATS else None


class SpaazaExportJob(PolledJob):
    """Creates one export task, runs it, and waits for it to end.

    >>> job = SpaazaExportJob(client, config, stream="spaaza_users")  # doctest: +SKIP
    >>> task = job.run("users")  # doctest: +SKIP
    """

    def __init__(
        self,
        client: SpaazaClient,
        config: SpaazaConfig,
        stream: str,
        logger: logging.Logger = LOGGER,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(sleep, clock)
        self.client = client
        self.config = config
        self.stream = stream
        self.logger = logger

    def run(self, index: str, segment: Optional[Mapping[str, Any]] = None, label: str = "full export") -> Task:
        """Create and execute an export of `index` (filtered by `segment`), return the task once DONE."""
        task = self.client.create_task(self.task_body(index, segment, label), stream=self.stream)
        task_id = task["id"]
        self.logger.info(f"{self.stream}: created Spaaza export task {task_id} ({index}, {label})")
        if state_code(task) != DONE:
            self.client.execute_task(task_id, stream=self.stream)
        return self.wait(task_id, initial=task)

    def task_body(self, index: str, segment: Optional[Mapping[str, Any]], label: str) -> Dict[str, Any]:
        trigger: Dict[str, Any] = {"once": iso(pendulum.now("UTC"))}
        if segment:
            trigger["segment"] = dict(segment)
        return {
            "chain": self.config.chain_id,
            "desc": f"{DESC_PREFIX}: {index} {label}",
            "target": {"action": "export", "export_index": index, "export_format": self.config.export_format},
            "trigger": trigger,
        }

    def wait(self, task_id: int, initial: Optional[Task] = None) -> Task:
        """Poll until DONE (returned) or ERROR (VendorJobFailed); JobTimeout after the configured timeout."""
        schedule = self.schedule(
            self.config.poll_interval_seconds,
            self.config.job_timeout_seconds,
            MAX_POLL_INTERVAL_SECONDS,
            f"Spaaza export task {task_id}",
        )
        task = initial
        for poll in schedule.polls():
            if poll:
                task = self.client.get_task(task_id, stream=self.stream)
            code = state_code(task) if task else ""
            elapsed = schedule.elapsed
            if code == DONE:
                self.logger.info(f"{self.stream}: Spaaza export task {task_id} is DONE after {elapsed:,.1f} s")
                return task
            if code == ERROR:
                raise VendorJobFailed(
                    f"Spaaza export task {task_id} ended in ERROR: {log_text(task)}",
                    vendor=VENDOR,
                    stream=self.stream,
                    job_id=task_id,
                    state=ERROR,
                    hint="The task's logs above are Spaaza's own; fix the cause in Spaaza (or narrow "
                    "spaaza.window_days for very large exports) and run the sync again",
                )
            if task is not None and not schedule.expired:  # past the deadline there is no next check
                self.logger.info(
                    f"{self.stream}: Spaaza export task {task_id} is {code or 'in an unknown state'} after "
                    f"{elapsed:,.1f} s; next check in {schedule.interval:,.1f} s"
                )
        raise JobTimeout(
            f"Spaaza export task {task_id} did not finish within {self.config.job_timeout_seconds / 60:g} "
            f"minutes (last state {code or 'unknown'})",
            vendor=VENDOR,
            stream=self.stream,
            job_id=task_id,
            state=code or None,
            hint="The export may still complete in Spaaza; raise spaaza.job_timeout_minutes or lower "
            "spaaza.window_days, then run the sync again",
        )


def result_file(
    client: SpaazaClient,
    task: Mapping[str, Any],
    stream: str,
    default_format: str,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> ExportFile:
    """The task's result file, named from its URL path (e.g. `Transaction_Export-12345.csv`).

    The first URL is minted here (its path gives the file name); the reader's first `mint()` gets
    that URL and later calls — after storage answered 403/400 — mint fresh ones. "task status is
    not DONE" right after DONE is retried a few times, `wait_seconds` apart.
    """
    task_id = task["id"]
    minted: List[str] = []

    def mint() -> str:
        if minted:
            return minted.pop()
        for attempt in range(MAX_NOT_DONE_RETRIES + 1):
            try:
                return client.download_url(task_id, stream=stream)
            except TaskNotDone:
                if attempt == MAX_NOT_DONE_RETRIES:
                    raise
                LOGGER.info(f"{stream}: Spaaza says task {task_id} is not DONE yet; asking again")
                sleep(wait_seconds * (attempt + 1))
        raise AssertionError("unreachable")

    minted.append(mint())
    name = file_name_of(minted[0])
    file_format = target_format(task) or format_of_name(name) or default_format
    return ExportFile(name=name, mint=mint, format=file_format, metadata={TASK_ID_COLUMN: task_id})


def format_of_name(name: str) -> Optional[str]:
    """The Spaaza export format a result file's name says (`.csv`, `.json`, any case; a compressed name says none)."""
    named = format_for_filename(name, compressed=False)
    return named.name if named is not None and named.name in EXPORT_FORMATS else None
