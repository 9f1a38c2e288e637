"""The console entrypoint keeps nulls in records and keeps tracebacks out of log lines."""

import json
import logging

import pytest
from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, Type

from source_exports.run import ExportsEntrypoint, NoTracebackFilter, launch


def test_given_record_with_top_level_nulls_when_serialised_then_nulls_are_kept():
    message = AirbyteMessage(
        type=Type.RECORD, record=AirbyteRecordMessage(stream="s", data={"a": None, "b": 1}, emitted_at=5)
    )
    assert json.loads(ExportsEntrypoint.airbyte_message_to_string(message)) == {
        "type": "RECORD",
        "record": {"stream": "s", "data": {"a": None, "b": 1}, "emitted_at": 5},
    }


def test_given_log_record_with_exception_when_filtered_then_traceback_is_dropped():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("airbyte", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert NoTracebackFilter().filter(record) is True
    assert record.exc_info is None and logging.Formatter().format(record) == "failed"


def test_given_spec_command_when_launched_then_one_spec_message_with_every_vendor_block(capsys):
    launch(["spec"])
    specs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"SPEC"' in line]
    assert len(specs) == 1
    properties = specs[0]["spec"]["connectionSpecification"]["properties"]
    assert "start_date" in properties


class Recorder:
    """Stands in for stdout/stderr: records flushes in the shared event list."""

    def __init__(self, name, events):
        self.name, self.events = name, events

    def flush(self):
        self.events.append(("flush", self.name))


def test_given_a_command_succeeds_when_run_then_output_is_flushed_before_the_process_ends(monkeypatch):
    import source_exports.run as run_module

    events = []
    monkeypatch.setattr(run_module, "launch", lambda args: events.append(("launch", args)))
    monkeypatch.setattr(run_module.sys, "stdout", Recorder("stdout", events))
    monkeypatch.setattr(run_module.sys, "stderr", Recorder("stderr", events))
    monkeypatch.setattr(run_module.os, "_exit", lambda code: events.append(("exit", code)))

    run_module.run(["spec"])

    assert events == [("launch", ["spec"]), ("flush", "stdout"), ("flush", "stderr"), ("exit", 0)]


def test_given_a_command_fails_when_run_then_it_raises_instead_of_exiting_early(monkeypatch):
    import source_exports.run as run_module

    exits = []

    def fail(args):
        raise RuntimeError("config_error already reported")

    monkeypatch.setattr(run_module, "launch", fail)
    monkeypatch.setattr(run_module.os, "_exit", exits.append)
    with pytest.raises(RuntimeError):
        run_module.run(["read"])
    assert exits == []
