"""The columns of `sourcecraft_artifact_records`, found at discover.

One stream holds the rows of every matching report artifact, so its schema is the union of the
columns of every file kind: JUnit XML reports have fixed columns (declared without a download);
every other kind (CSV, JSON, JSON Lines, Parquet; one kind per `local_path`) is sampled from its
newest `success` artifact among the newest runs, first rows only. Types are merged per column.
A kind that is not sampled (too old, beyond the caps, or its download failed) is reported at read
by the validation policy when its columns show up.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List, Mapping

from source_exports.download.formats import format_for_filename
from source_exports.download.reader import ExportFile, ExportFileReader
from source_exports.download.schema import infer_schema, merge_properties, widen_integers
from source_exports.errors import ExportsError
from source_exports.vendors.sourcecraft.artifacts import ArtifactLister, matches_paths
from source_exports.vendors.sourcecraft.client import SourceCraftClient
from source_exports.vendors.sourcecraft.run_scan import slug_number

SAMPLE_RUNS = 20
"""The newest runs whose artifacts are looked at (artifacts of older runs are mostly expired)."""
SAMPLE_FILES = 30
"""At most this many artifacts are downloaded at discover."""
SAMPLE_ROWS = 100


def newest_runs(client: SourceCraftClient, count: int) -> List[Mapping[str, Any]]:
    """The `count` runs with the largest slugs; pages stop early once the listing proves newest first."""
    runs: List[Mapping[str, Any]] = []
    descending = True
    for page in client.iter_run_pages():
        for run in page:
            number, last = slug_number(run), slug_number(runs[-1]) if runs else None
            descending = descending and number is not None and (last is None or number < last)
            runs.append(run)
        if descending and len(runs) >= count:
            break
    return sorted(runs, key=lambda run: slug_number(run) or -1, reverse=True)[:count]


class ArtifactRecordSchema:
    """Builds the data columns of `sourcecraft_artifact_records` from the artifacts SourceCraft lists."""

    def __init__(
        self,
        client: SourceCraftClient,
        workflows: tuple,
        artifact_paths: tuple,
        reader: ExportFileReader,
        logger: logging.Logger,
        metadata: Mapping[str, Any],
        identity_prefix: str,
    ) -> None:
        self.client = client
        self.lister = ArtifactLister(client, workflows, logger)
        self.artifact_paths = artifact_paths
        self.reader = reader
        self.logger = logger
        self.metadata = metadata
        self.identity_prefix = identity_prefix

    def properties(self) -> Dict[str, Any]:
        """Every data column of the sampled file kinds, merged (metadata columns not included)."""
        properties: Dict[str, Any] = {}
        kinds = set()
        sampled = 0
        for artifact, file_format in self._candidates():
            if artifact.local_path in kinds:
                continue
            if file_format.columns is not None:  # JUnit XML: known without a download
                kinds.add(artifact.local_path)
                merge_properties(properties, file_format.columns)
                continue
            if sampled >= SAMPLE_FILES:
                continue
            sampled += 1
            identity = artifact.identity(self.identity_prefix)
            export = ExportFile(artifact.label, artifact.minter(self.client), file_format.name, identity)
            try:
                rows = self.reader.sample(export, limit=SAMPLE_ROWS)
            except ExportsError as error:
                self.logger.warning(
                    f"sourcecraft_artifact_records: could not sample {artifact.label} for the schema "
                    f"({error.user_message}); an older artifact of the same path is tried"
                )
                continue
            kinds.add(artifact.local_path)
            columns = [{key: value for key, value in row.items() if key not in self.metadata} for row in rows]
            found = infer_schema(columns, typed_values=file_format.typed_values)["properties"]
            widen_integers(found)
            merge_properties(properties, found)
        self.logger.info(
            f"sourcecraft_artifact_records: {len(properties)} column(s) from {len(kinds)} kind(s) of artifact "
            f"({sampled} downloaded)"
        )
        return properties

    def _candidates(self) -> Iterator[tuple]:
        for run in newest_runs(self.client, SAMPLE_RUNS):
            for artifact in self.lister.artifacts_of(str(run.get("slug"))):
                file_format = format_for_filename(artifact.local_path)
                if (
                    artifact.status == "success"
                    and file_format is not None
                    and matches_paths(artifact.local_path, self.artifact_paths)
                ):
                    yield artifact, file_format
