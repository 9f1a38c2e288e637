"""Export tasks run ahead across the selected Spaaza export streams of one sync.

Spaaza builds each export on its side, so waiting for one index while another downloads costs
nothing but a running task. `ExportPlan` lists the exports this sync will read — every task of
every *selected* export stream, in catalog order (a stream's date windows in window order) — and
keeps at most `concurrency` of them in flight, the one being read included (`source_exports.ahead`):
a worker thread per export creates its task (never blindly retried: the client looks an ambiguous
creation up), executes it and polls it until it ends. Each stream takes its own finished task in order, so
rows and state keep their order, and a failed export surfaces in its own stream. Tasks created
ahead for streams the sync never reaches (it stopped) are left in Spaaza, as DONE or running.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Protocol, Tuple

from airbyte_cdk.models import ConfiguredAirbyteCatalog, SyncMode
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager

from source_exports.ahead import Ahead, Sleep
from source_exports.errors import ExportsError
from source_exports.vendors.spaaza.client import Task

LOGGER = logging.getLogger("airbyte")

Unit = Tuple[str, str]
"""(stream name, export key): `full` for a full export, the window's slice for a date window."""


class PlannedStream(Protocol):
    """A Spaaza export stream that can say which exports it will read and run one of them."""

    name: str

    def planned_keys(self, sync_mode: SyncMode, state: Dict[str, Any]) -> List[str]: ...

    def run_export(self, key: str, sleep: Sleep) -> Task: ...


class ExportPlan:
    """The exports of this sync's selected Spaaza streams, started ahead in a bounded pool.

    >>> plan = ExportPlan(concurrency=3)  # doctest: +SKIP
    >>> plan.register(stream)  # every Spaaza export stream, at construction  # doctest: +SKIP
    >>> close = plan.select(catalog, state)  # the source, before reading  # doctest: +SKIP
    >>> task = plan.task_for(stream, "full")  # the next exports start meanwhile  # doctest: +SKIP
    """

    def __init__(self, concurrency: int, logger: logging.Logger = LOGGER) -> None:
        self.concurrency = max(1, concurrency)
        self._logger = logger
        self._streams: Dict[str, PlannedStream] = {}
        self._selected: Optional[List[Tuple[str, SyncMode, Dict[str, Any]]]] = None
        self._jobs: Optional[Ahead[Unit, Task]] = None
        self._closed = False

    def register(self, stream: PlannedStream) -> None:
        self._streams[stream.name] = stream

    def select(self, catalog: ConfiguredAirbyteCatalog, state: Any) -> Callable[[], None]:
        """Remember which streams this sync reads (in order, with their state); returns `close`."""
        if self._selected is None:
            states = ConnectorStateManager(state)
            self._selected = [
                (
                    configured.stream.name,
                    configured.sync_mode,
                    dict(states.get_stream_state(configured.stream.name, configured.stream.namespace) or {}),
                )
                for configured in catalog.streams
                if configured.stream.name in self._streams
            ]
        return self.close

    def task_for(self, stream: PlannedStream, key: str) -> Task:
        """The stream's finished export `key`, while the exports planned after it start."""
        if self._closed or self._selected is None or self.concurrency == 1:
            return stream.run_export(key, time.sleep)  # nothing planned: the serial path
        return self._plan().result_for((stream.name, key))

    def close(self) -> None:
        """Stop polling the tasks created ahead and not read (they stay in Spaaza); end the threads."""
        if self._closed:
            return
        self._closed = True
        unread = self._jobs.close() if self._jobs is not None else []
        if unread:
            self._logger.info(f"Spaaza: {len(unread)} export task(s) created ahead were not read; they stay in Spaaza")

    def _plan(self) -> Ahead[Unit, Task]:
        if self._jobs is None:
            units = list(self._planned_units())
            if units:
                planned = len(units)
                self._logger.info(f"Spaaza: {planned} export task(s) planned for this sync, {self.concurrency} at once")
            self._jobs = Ahead(units, self._run, self.concurrency, name="spaaza-export")
        return self._jobs

    def _planned_units(self) -> Iterable[Unit]:
        for name, sync_mode, state in self._selected or []:
            try:
                keys = self._streams[name].planned_keys(sync_mode, state)
            except ExportsError as error:  # e.g. a bad saved cursor: that stream reports it when read
                self._logger.info(f"{name}: its exports are not started ahead ({error.user_message})")
                continue
            yield from ((name, key) for key in keys)

    def _run(self, unit: Unit, sleep: Sleep) -> Task:
        name, key = unit
        return self._streams[name].run_export(key, sleep)
