"""The four SourceCraft streams. They share one state shape and one way to choose runs (`RunScan`).

- `sourcecraft_runs`: one record per run (summary: no task/cube tree).
- `sourcecraft_artifacts`: one record per artifact of every cube, `download_url` removed.
- `sourcecraft_artifact_records`: the rows inside `success` artifacts matching `artifact_paths`.
- `sourcecraft_artifact_files`: the artifact files themselves, via Airbyte file transfer.

Every stream emits what exists now, with its current status, in both modes: a first incremental
sync equals a full refresh. A run not finished yet stays in the state's `unfinished_slugs`, so
every later sync reads it again and re-emits its run record, artifacts and rows (the newest
version wins when the destination deduplicates by primary key) until it has finished.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import IO, Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple

import pendulum
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteRecordMessageFileReference,
    AirbyteStream,
    SyncMode,
)
from airbyte_cdk.models import Type as MessageType

from source_exports.ahead import ahead
from source_exports.download.formats import format_for_filename
from source_exports.download.reader import FILE_COLUMN, ROW_COLUMN, ExportFile, ExportFileReader
from source_exports.download.schema import permissive_schema
from source_exports.errors import ExportsError, StorageHostDown
from source_exports.schema_samples import nothing_to_sample, sample_failed
from source_exports.streams import IncrementalExportsStream
from source_exports.timestamps import iso_millis
from source_exports.vendors.sourcecraft.artifacts import Artifact, ArtifactLister, matches_paths
from source_exports.vendors.sourcecraft.client import SourceCraftClient
from source_exports.vendors.sourcecraft.files import ArtifactFileWriter, StagedFile
from source_exports.vendors.sourcecraft.record_schema import ArtifactRecordSchema
from source_exports.vendors.sourcecraft.retention import (
    DOWNLOADABLE_DAYS,
    StatusTrackingFetcher,
    is_past_retention,
    refusal_of,
    retention_start,
)
from source_exports.vendors.sourcecraft.run_scan import RunCheckpoint, RunScan

LOGGER = logging.getLogger("airbyte")
IDENTITY_PREFIX = "_sourcecraft_"
DEFAULT_DOWNLOAD_CONCURRENCY = 8


@dataclass(frozen=True)
class SourceCraftSettings:
    """The validated `sourcecraft` config block."""

    api_url: str
    api_token: str
    org_slug: str
    repo_slug: str
    workflows: Tuple[str, ...] = ()
    artifact_paths: Tuple[str, ...] = ()
    download_concurrency: int = DEFAULT_DOWNLOAD_CONCURRENCY

    def client(self) -> SourceCraftClient:
        return SourceCraftClient(self.api_url, self.api_token, self.org_slug, self.repo_slug)


class Attempt(NamedTuple):
    """One artifact's download: what it produced, or its error, and storage's last HTTP status."""

    value: Any
    error: Optional[BaseException]
    status: Optional[int]


class SourceCraftStream(IncrementalExportsStream):
    """Base: state is a `RunCheckpoint` (not the base's single cursor); subclasses turn runs into records."""

    primary_key = "id"
    cursor_field: Any = ["dates", "updated_at"]

    def __init__(
        self,
        settings: SourceCraftSettings,
        start_date: Optional[pendulum.DateTime] = None,
        client: Optional[SourceCraftClient] = None,
    ) -> None:
        super().__init__(start_date)
        self.settings = settings
        self.client = client or settings.client()

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Any]:
        incremental = sync_mode == SyncMode.incremental
        previous = RunCheckpoint.from_state(self._state, self.name) if incremental else None
        self.warn_about_expired_artifacts(previous)
        scan = RunScan(self.client, previous, self.start_date, self.logger, self.name)
        for run in scan:  # an unfinished run is read as it is now, and again by every sync until it finishes
            yield from self.records_of_run(run)
        self.finish()
        self._state = scan.checkpoint.to_state()  # only now: every record it covers was yielded

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Any]:
        raise NotImplementedError

    def finish(self) -> None:
        """Called after the last run: summaries, and failures collected along the way."""

    def warn_about_expired_artifacts(self, previous: Optional[RunCheckpoint]) -> None:
        """Artifact contents are gone after 14 days: say which stretch a late sync can no longer read."""


class SourceCraftRunsStream(SourceCraftStream):
    """CI runs of the repository, newest first as SourceCraft lists them."""

    name = "sourcecraft_runs"

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        record = dict(run)
        if isinstance(record.get("workflows"), list):  # a summary: the task/cube tree is for the artifact streams
            record["workflows"] = [
                {key: value for key, value in workflow.items() if key != "tasks"}
                for workflow in record["workflows"]
                if isinstance(workflow, Mapping)
            ]
        yield record


class SourceCraftArtifactsStream(SourceCraftStream):
    """Every artifact of every cube of the selected runs (metadata only)."""

    name = "sourcecraft_artifacts"

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        lister = ArtifactLister(self.client, self.settings.workflows, self.logger)
        for artifact in lister.artifacts_of(str(run.get("slug"))):
            yield artifact.record()


class ArtifactContentStream(SourceCraftStream):
    """Base of the streams that download artifact contents: filtering, skip counts, isolated failures."""

    def __init__(self, *args: Any, fetcher: Optional[StatusTrackingFetcher] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetcher = fetcher or StatusTrackingFetcher()
        self.skipped: Counter = Counter()
        self.failures: List[Tuple[str, ExportsError]] = []
        self.done = 0

    def read_records(self, *args: Any, **kwargs: Any) -> Iterable[Any]:
        self.skipped, self.failures, self.done = Counter(), [], 0
        yield from super().read_records(*args, **kwargs)

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Any]:
        """The run's artifacts, up to `download_concurrency` downloading at once, emitted in listing order."""
        lister = ArtifactLister(self.client, self.settings.workflows, self.logger)
        wanted = (artifact for artifact in lister.artifacts_of(str(run.get("slug"))) if not self.skipped_now(artifact))
        downloads = ahead(wanted, self.attempt, self.settings.download_concurrency, self.discard_attempt)
        for artifact, future in downloads:
            attempt = future.result()
            self.fetcher.last_status = attempt.status  # what storage said about this artifact's download
            try:
                if attempt.error is not None:
                    raise attempt.error
                yield from self.emit(artifact, attempt.value)
                self.done += 1
            except StorageHostDown:  # the host, not this file, is broken: the other files would fail too
                raise
            except Exception as error:  # noqa: BLE001 - whatever it is, isolated per artifact, reported in finish()
                failure = error if isinstance(error, ExportsError) else unexpected(error, artifact.label)
                if not self.is_gone_with_retention(artifact, run, failure):
                    self.failures.append((artifact.label, failure))
                    self.logger.error(f"{self.name}: {artifact.label} could not be read: {failure.user_message}")

    def skipped_now(self, artifact: Artifact) -> bool:
        reason = self.skip_reason(artifact)
        if reason:
            self.skipped[reason] += 1
        return bool(reason)

    def attempt(self, artifact: Artifact) -> Attempt:
        """Download one artifact (in a worker thread); its error is kept for the artifact, not raised."""
        self.fetcher.last_status = None  # what storage said about the artifact before says nothing here
        try:
            return Attempt(self.download(artifact), None, self.fetcher.last_status)
        except Exception as error:  # noqa: BLE001 - whatever it is, it belongs to this artifact alone
            return Attempt(None, error, self.fetcher.last_status)

    def discard_attempt(self, attempt: Attempt) -> None:
        """A download made ahead but not emitted (the read stopped early)."""

    def download(self, artifact: Artifact) -> Any:
        raise NotImplementedError

    def emit(self, artifact: Artifact, downloaded: Any) -> Iterable[Any]:
        raise NotImplementedError

    def skip_reason(self, artifact: Artifact) -> Optional[str]:
        """Why an artifact is not read at all; never its age (retention is only judged on a refusal)."""
        if artifact.status != "success":
            return f"status {artifact.status or 'unknown'}"
        if not matches_paths(artifact.local_path, self.settings.artifact_paths):
            return "not matching artifact_paths"
        return None

    def is_gone_with_retention(self, artifact: Artifact, run: Mapping[str, Any], error: ExportsError) -> bool:
        """True (after a warning) when the download was refused and the artifact is past the retention."""
        refusal = refusal_of(error, self.fetcher)
        if refusal is None or not is_past_retention(artifact, run, pendulum.now("UTC")):
            return False
        self.logger.warning(
            f"{self.name}: {artifact.label} skipped: SourceCraft listed it as downloadable, but {refusal}. Its latest "
            f"date ({iso_millis(retention_start(artifact, run))}) is more than {DOWNLOADABLE_DAYS} days ago, "
            f"past the {DOWNLOADABLE_DAYS} days SourceCraft keeps artifact contents, so its contents are gone. "
            f"Sync at least every {DOWNLOADABLE_DAYS} days to read every artifact"
        )
        self.skipped[f"refused past the {DOWNLOADABLE_DAYS}-day retention"] += 1
        return True

    def finish(self) -> None:
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items())) or "none"
        self.logger.info(f"{self.name}: {self.done} artifact(s) read; skipped: {skipped}")
        if self.failures:
            label, first = self.failures[0]
            others = "; ".join(f"{name}: {error.message}" for name, error in self.failures[1:6])
            more = f" (and {len(self.failures) - 6} more)" if len(self.failures) > 6 else ""
            raise type(first)(
                f"{len(self.failures)} artifact(s) could not be read. First: {first.message}"
                + (f". Others: {others}{more}" if others else ""),
                hint=first.hint,
                **{**first.context, "stream": self.name, "file": label},
            ) from first

    def warn_about_expired_artifacts(self, previous: Optional[RunCheckpoint]) -> None:
        if previous is None or previous.synced_at is None:
            return
        horizon = pendulum.now("UTC") - pendulum.duration(days=DOWNLOADABLE_DAYS)
        if previous.synced_at < horizon:
            self.logger.warning(
                f"{self.name}: the last sync was at {iso_millis(previous.synced_at)}, more than "
                f"{DOWNLOADABLE_DAYS} days ago. Artifacts of runs that finished between "
                f"{iso_millis(previous.synced_at)} and {iso_millis(horizon)} may be no longer downloadable "
                "from SourceCraft: each is still tried, and those storage refuses are skipped with a warning; "
                f"sync at least every {DOWNLOADABLE_DAYS} days to keep every artifact"
            )


class SourceCraftArtifactRecordsStream(ArtifactContentStream):
    """Rows of report artifacts: JUnit XML (one row per test case), CSV, JSON, JSON Lines, Parquet."""

    name = "sourcecraft_artifact_records"
    primary_key = [f"{IDENTITY_PREFIX}artifact_id", ROW_COLUMN]
    cursor_field = f"{IDENTITY_PREFIX}artifact_updated_at"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reader = ExportFileReader(self.fetcher, self.logger)

    discovered_schema = True

    def metadata_schema(self) -> Mapping[str, Any]:
        """The identity columns of the artifact, plus the file name and row number."""
        nullable_string = {"type": ["null", "string"]}
        known: Dict[str, Any] = dict.fromkeys(Artifact.identity_columns(IDENTITY_PREFIX), nullable_string)
        known[f"{IDENTITY_PREFIX}artifact_updated_at"] = {**nullable_string, "format": "date-time"}
        known[FILE_COLUMN] = {"type": "string"}
        known[ROW_COLUMN] = {"type": "integer"}
        return known

    def build_json_schema(self) -> Mapping[str, Any]:
        """The union of the columns of every kind of report (see `record_schema.py`), then the metadata."""
        known = self.metadata_schema()
        sampler = ArtifactRecordSchema(
            self.client,
            self.settings.workflows,
            self.settings.artifact_paths,
            self.reader,
            self.logger,
            known,
            IDENTITY_PREFIX,
        )
        try:
            properties = sampler.properties()
        except ExportsError as error:
            raise sample_failed(error, self.name) from error
        if not properties:
            return nothing_to_sample(self.name, "report artifact", known)
        schema = permissive_schema(known)
        schema["properties"] = {**properties, **known}
        return schema

    def skip_reason(self, artifact: Artifact) -> Optional[str]:
        reason = super().skip_reason(artifact)
        if reason is None and format_for_filename(artifact.local_path) is None:
            self.logger.info(f"{self.name}: {artifact.label} skipped: no parser for this file type")
            return "of an unsupported file type"
        return reason

    def export_of(self, artifact: Artifact) -> ExportFile:
        return ExportFile(
            name=artifact.label,
            mint=artifact.minter(self.client),
            format=format_for_filename(artifact.local_path).name,
            metadata=artifact.identity(IDENTITY_PREFIX),
            on_size=self.estimate.add_bytes,
        )

    def download(self, artifact: Artifact) -> IO[bytes]:
        return self.reader.spool(self.export_of(artifact))

    def emit(self, artifact: Artifact, downloaded: IO[bytes]) -> Iterable[Any]:
        with downloaded:
            yield from self.reader.read_spooled(self.export_of(artifact), downloaded, self.batches)

    def discard_attempt(self, attempt: Attempt) -> None:
        if attempt.value is not None:
            attempt.value.close()


class SourceCraftArtifactFilesStream(ArtifactContentStream):
    """The artifact files, copied byte for byte into Airbyte's files directory (file transfer)."""

    name = "sourcecraft_artifact_files"
    primary_key = [f"{IDENTITY_PREFIX}artifact_id"]
    cursor_field = f"{IDENTITY_PREFIX}artifact_updated_at"

    def __init__(self, *args: Any, writer: Optional[ArtifactFileWriter] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer = writer

    @property
    def writer(self) -> ArtifactFileWriter:
        """Created on first use: the files directory is only needed (and resolved) when reading."""
        if self._writer is None:
            self._writer = ArtifactFileWriter()
        return self._writer

    def as_airbyte_stream(self) -> AirbyteStream:
        stream = super().as_airbyte_stream()
        stream.is_file_based = True
        return stream

    def download(self, artifact: Artifact) -> StagedFile:
        started = time.monotonic()
        folders = (*artifact.cube.slugs, artifact.id)  # the id keeps artifacts sharing a local_path apart
        minter = artifact.minter(self.client)
        with contextlib.closing(self.fetcher.open(minter, artifact.label, on_size=self.estimate.add_bytes)) as body:
            staged = self.writer.write(body, artifact.local_path, artifact.label, folders)
        self.logger.info(
            f"{artifact.label}: {staged.size / 1e6:,.2f} MB staged in {time.monotonic() - started:,.1f} s"
            + (f" ({body.resumes} resumes)" if body.resumes else "")
        )
        return staged

    def discard_attempt(self, attempt: Attempt) -> None:
        if attempt.value is not None:  # staged but never emitted: the destination must not find it
            with contextlib.suppress(OSError):
                os.unlink(attempt.value.absolute_path)

    def emit(self, artifact: Artifact, staged: StagedFile) -> Iterable[AirbyteMessage]:
        name = staged.relative_path.rsplit("/", 1)[-1]
        data = {
            "folder": staged.relative_path.rpartition("/")[0],
            "file_name": name,
            "bytes": staged.size,
            "id": artifact.id,
            "mime_type": mimetypes.guess_type(name)[0],
            "created_at": (artifact.data.get("dates") or {}).get("registered_at"),
            "updated_at": artifact.updated_at,
            "source_uri": f"sourcecraft://{self.settings.org_slug}/{self.settings.repo_slug}/{artifact.label}",
            "status": artifact.status,
            **artifact.identity(IDENTITY_PREFIX),
        }
        yield AirbyteMessage(
            type=MessageType.RECORD,
            record=AirbyteRecordMessage(
                stream=self.name,
                data=data,
                emitted_at=int(time.time() * 1000),
                file_reference=AirbyteRecordMessageFileReference(
                    staging_file_url=staged.absolute_path,
                    source_file_relative_path=staged.relative_path,
                    file_size_bytes=staged.size,
                ),
            ),
        )


def unexpected(error: Exception, label: str) -> ExportsError:
    """An exception that is no error of ours (a bug, or a library's surprise), kept to its artifact."""
    return ExportsError(
        f"Unexpected {type(error).__name__} while reading the artifact: {error}",
        file=label,
        hint="This is a bug in the connector; please report it with the logs (the other artifacts were read)",
    )
