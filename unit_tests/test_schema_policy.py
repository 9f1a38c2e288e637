"""The validation policy and the schemaless reshaping, on rows and on batches."""

import logging

import pytest

from source_exports.download.batch import RecordBatch
from source_exports.errors import ConfigError
from source_exports.schema_policy import EMIT, SKIP, WAIT, ColumnGuard, SchemaSettings

LOGGER = logging.getLogger("test")
DECLARED = ["a", "_ab_source_file"]


def rows_of(items):
    out = []
    for item in items:
        out.extend(item.rows() if isinstance(item, RecordBatch) else [item])
    return out


@pytest.mark.parametrize("as_batch", [False, True], ids=["rows", "batches"])
def test_given_emit_when_rows_carry_an_undeclared_column_then_they_are_emitted_and_it_is_warned_about_once(
    as_batch, caplog
):
    rows = [{"a": 1, "_ab_source_file": "f.csv"}, {"a": 2, "b": 3, "_ab_source_file": "f.csv"}, {"a": 4, "b": 5}]
    items = [RecordBatch.from_rows(rows[:2]), RecordBatch.from_rows(rows[2:])] if as_batch else rows
    with caplog.at_level(logging.WARNING):
        emitted = rows_of(ColumnGuard("s", DECLARED, EMIT, LOGGER).apply(items))
    assert emitted == rows
    warnings = [record.message for record in caplog.records if "'b'" in record.message]
    assert len(warnings) == 1 and "f.csv" in warnings[0] and "Refresh the source schema" in warnings[0]


@pytest.mark.parametrize("policy, decoded", [(EMIT, 1), (SKIP, 4)])
def test_given_a_column_already_warned_about_when_later_batches_carry_it_then_only_skip_decodes_them(policy, decoded):
    class CountingBatch(RecordBatch):
        decoded = 0

        def rows(self):
            CountingBatch.decoded += 1
            return super().rows()

    batches = [CountingBatch.from_rows([{"a": n, "b": n, "_ab_source_file": "f.csv"}]) for n in range(4)]
    emitted = list(ColumnGuard("s", DECLARED, policy, LOGGER).apply(batches))
    assert CountingBatch.decoded == decoded  # emit_record: only the first, whose rows name the file it warns about
    assert emitted == (batches if policy == EMIT else [])  # emitted as they came, or every row dropped


@pytest.mark.parametrize("as_batch", [False, True], ids=["rows", "batches"])
def test_given_skip_when_rows_carry_an_undeclared_column_then_only_those_rows_are_dropped_and_counted(as_batch, caplog):
    rows = [{"a": 1}, {"a": 2, "b": 3}, {"a": 4}, {"c": 1}]
    items = [RecordBatch.from_rows(rows)] if as_batch else rows
    with caplog.at_level(logging.WARNING):
        emitted = rows_of(ColumnGuard("s", DECLARED, SKIP, LOGGER).apply(items))
    assert emitted == [{"a": 1}, {"a": 4}]
    assert "2 row(s) skipped" in caplog.text and "'b'" in caplog.text and "'c'" in caplog.text


def test_given_wait_for_discover_when_a_row_carries_an_undeclared_column_then_a_config_error_names_it():
    items = ColumnGuard("s", DECLARED, WAIT, LOGGER).apply([{"a": 1}, {"a": 2, "new": 3, "_ab_source_file": "x.csv"}])
    assert next(items) == {"a": 1}
    with pytest.raises(ConfigError) as raised:
        next(items)
    assert "'new'" in str(raised.value) and "x.csv" in str(raised.value) and "stream: s" in str(raised.value)


def test_given_a_fixed_schema_stream_when_a_column_is_undeclared_then_rows_are_emitted_even_under_skip(caplog):
    guard = ColumnGuard("s", DECLARED, SKIP, LOGGER, refreshable=False)
    with caplog.at_level(logging.WARNING):
        assert list(guard.apply([{"a": 1, "z": 2}])) == [{"a": 1, "z": 2}]
    assert "'z'" in caplog.text


@pytest.mark.parametrize("as_batch", [False, True], ids=["rows", "batches"])
def test_given_schemaless_when_rows_pass_then_data_columns_move_into_data_and_metadata_stays(as_batch):
    rows = [{"x": "007", "y": None, "_ab_source_file": "f.csv"}, {"z": {"n": 1}, "_ab_source_file": "g.csv"}]
    items = [RecordBatch.from_rows(rows)] if as_batch else rows
    guard = ColumnGuard("s", ["data", "_ab_source_file"], WAIT, LOGGER, schemaless_metadata={"_ab_source_file"})
    assert rows_of(guard.apply(items)) == [
        {"data": {"x": "007", "y": None}, "_ab_source_file": "f.csv"},
        {"data": {"z": {"n": 1}}, "_ab_source_file": "g.csv"},
    ]


def test_given_no_settings_when_read_from_config_then_every_record_is_emitted_as_before():
    assert SchemaSettings.from_config({}) == SchemaSettings(EMIT, False)


def test_given_an_unknown_policy_when_read_from_config_then_the_error_lists_the_valid_values():
    with pytest.raises(ConfigError) as raised:
        SchemaSettings.from_config({"validation_policy": "drop"})
    assert "validation_policy" in str(raised.value) and "wait_for_discover" in str(raised.value)
