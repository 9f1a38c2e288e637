"""What a sync does with a row whose columns the configured catalog does not declare.

Typed destinations and PyAirbyte's caches keep only the columns a stream's catalog schema
declares, so a column that first appears after discover would be dropped without a word. Every
row is compared with the configured schema's columns (a key-set comparison; batches carry their
columns), and the top-level `validation_policy` decides, as the file-based CDK's policy does:

- `emit_record` (default): emit the row and warn once per stream and column, naming the fix;
- `skip_record`: drop the row, warn once per column, and say at the end how many rows were dropped;
- `wait_for_discover`: fail the stream with a config error until the schema is refreshed.

`schemaless: true` turns file-backed streams into `{data: {...}}` plus their metadata columns,
so no data column can be undeclared. Streams with a shipped (fixed) schema only warn: refreshing
cannot add a column the connector does not know.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Collection, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional

from airbyte_cdk.models import AirbyteMessage
from airbyte_cdk.models import Type as MessageType

from source_exports.config import require_bool, require_choice
from source_exports.download.batch import RecordBatch
from source_exports.errors import ConfigError

EMIT, SKIP, WAIT = "emit_record", "skip_record", "wait_for_discover"
VALIDATION_POLICIES = (EMIT, SKIP, WAIT)
DATA_COLUMN = "data"
REFRESH_HINT = (
    "Refresh the source schema (Airbyte: the connection's 'Refresh source schema'; "
    "PyAirbyte: a new `get_source(...)` discovers again) so the column is declared"
)


@dataclass(frozen=True)
class SchemaSettings:
    """The top-level `validation_policy` and `schemaless` settings."""

    validation_policy: str = EMIT
    schemaless: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SchemaSettings:
        policy = require_choice(config.get("validation_policy", EMIT), VALIDATION_POLICIES, "validation_policy")
        return cls(policy, require_bool(config.get("schemaless", False), "schemaless"))


def schema_policy_spec(order: int) -> Dict[str, Any]:
    """The spec entries of `validation_policy` and `schemaless` (top level: they apply to every file stream)."""
    return {
        "validation_policy": {
            "type": "string",
            "title": "Validation policy",
            "description": "What to do with a row that carries a column the configured catalog does not declare "
            "(a column that appeared after the last schema refresh): emit_record emits it and warns once per "
            "column (typed destinations drop the column), skip_record drops the row and warns, "
            "wait_for_discover fails the stream until the source schema is refreshed.",
            "enum": list(VALIDATION_POLICIES),
            "default": EMIT,
            "examples": list(VALIDATION_POLICIES),
            "order": order,
        },
        "schemaless": {
            "type": "boolean",
            "title": "Schemaless file streams",
            "description": "Put every data column of a file-backed stream (Cargo run outputs, SourceCraft "
            "artifact records, Spaaza export indexes) into one `data` object column, next to the metadata "
            "columns. Nothing can be undeclared, at the cost of typed columns. Cannot be combined with a Cargo "
            "run output's primary_key.",
            "default": False,
            "examples": [False, True],
            "order": order + 1,
        },
    }


def schemaless_schema(metadata: Mapping[str, Any]) -> Dict[str, Any]:
    """The schema of a stream in schemaless mode: every data column inside one `data` object."""
    properties: Dict[str, Any] = {DATA_COLUMN: {"type": ["null", "object"], "additionalProperties": True}}
    properties.update(metadata)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "properties": properties,
    }


def to_schemaless(row: Mapping[str, Any], metadata: Collection[str]) -> Dict[str, Any]:
    """`row` with its data columns moved into `data`; the metadata columns stay at the top level."""
    record: Dict[str, Any] = {DATA_COLUMN: {key: value for key, value in row.items() if key not in metadata}}
    record.update((key, value) for key, value in row.items() if key in metadata)
    return record


class ColumnGuard:
    """Applies the validation policy (or the schemaless reshaping) to what a stream's read yields.

    >>> guard = ColumnGuard("s", declared=["a"], policy=EMIT, logger=logger)  # doctest: +SKIP
    >>> list(guard.apply([{"a": 1, "b": 2}]))  # warns once: column 'b' is not declared  # doctest: +SKIP
    """

    def __init__(
        self,
        stream: str,
        declared: Iterable[str],
        policy: str,
        logger: logging.Logger,
        refreshable: bool = True,
        schemaless_metadata: Optional[Collection[str]] = None,
    ) -> None:
        self.stream = stream
        self.declared: FrozenSet[str] = frozenset(declared)
        self.policy = policy if refreshable else EMIT
        self.logger = logger
        self.refreshable = refreshable
        self.schemaless_metadata = frozenset(schemaless_metadata) if schemaless_metadata is not None else None
        self.warned: set = set()
        self.skipped = 0

    def apply(self, items: Iterable[Any]) -> Iterator[Any]:
        """`items` with rows reshaped, checked, and dropped or refused as the policy says."""
        declared = self.declared
        plain = self.schemaless_metadata is None
        for item in items:
            if plain and type(item) is dict and declared.issuperset(item):  # the common case, kept cheap
                yield item
            elif isinstance(item, RecordBatch):
                checked = self._batch(item)
                if checked is not None:
                    yield checked
            elif isinstance(item, Mapping):
                row = self._row(item)
                if row is not None:
                    yield row
            elif isinstance(item, AirbyteMessage) and item.type == MessageType.RECORD and item.record is not None:
                if self._row(item.record.data, reshape=False) is not None:
                    yield item
            else:
                yield item
        if self.skipped:
            self.logger.warning(
                f"{self.stream}: {self.skipped:,} row(s) skipped (validation_policy {SKIP}) because they carry "
                f"columns the configured catalog lacks. {REFRESH_HINT}, then sync again to read them"
            )

    def _row(self, row: Mapping[str, Any], reshape: bool = True) -> Optional[Mapping[str, Any]]:
        if reshape and self.schemaless_metadata is not None:
            row = to_schemaless(row, self.schemaless_metadata)
        if self.declared.issuperset(row):
            return row
        if self._admit(row.keys() - self.declared, [row]):
            return row
        self.skipped += 1
        return None

    def _batch(self, batch: RecordBatch) -> Optional[RecordBatch]:
        if self.schemaless_metadata is not None:
            batch = RecordBatch.from_rows([to_schemaless(row, self.schemaless_metadata) for row in batch.rows()])
        columns = batch.columns()
        if self.declared.issuperset(columns):
            return batch
        if self.policy != SKIP and self.warned.issuperset(columns - self.declared):
            return batch  # nothing new to warn about, nothing to drop: the rows need not be decoded
        rows = list(batch.rows())
        if self._admit(columns - self.declared, rows):
            return batch
        kept = [row for row in rows if self.declared.issuperset(row)]
        self.skipped += len(rows) - len(kept)
        return RecordBatch.from_rows(kept) if kept else None

    def _admit(self, undeclared: Collection[str], rows: List[Mapping[str, Any]]) -> bool:
        """Warn about new undeclared columns (or fail); True when the rows are emitted."""
        new = sorted(set(undeclared) - self.warned)
        if new:
            self.warned.update(new)
            where = next((row.get("_ab_source_file") for row in rows if row.get("_ab_source_file")), None)
            names = ", ".join(f"'{name}'" for name in new)
            first = f" (first seen in {where})" if where else ""
            if self.policy == WAIT:
                raise ConfigError(
                    f"Rows carry column(s) {names}{first} that the configured catalog does not declare; "
                    f"validation_policy is {WAIT}, so the stream stops here",
                    stream=self.stream,
                    hint=f"{REFRESH_HINT}, or set validation_policy to {EMIT} or {SKIP}",
                )
            if self.refreshable:
                action = "skipped" if self.policy == SKIP else "emitted, but typed destinations drop the column(s)"
                fix = REFRESH_HINT
            else:
                action = "emitted; the connector's schema for this stream does not declare them"
                fix = "Deselected columns cause this too; otherwise report it so the connector can declare them"
            self.logger.warning(
                f"{self.stream}: column(s) {names}{first} are not in the configured catalog: rows holding them are "
                f"{action}. {fix}"
            )
        return self.policy != SKIP
