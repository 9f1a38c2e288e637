"""A reader that closes the command's stdout early (`source-exports spec | head -1`) gets one line on
stderr and exit status 1: no traceback per log line, no hang, whether the closed pipe is met by a log
line, a message or a batch of records in the middle of a read."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import List

import pytest

from integration_tests.cli import COMMAND
from integration_tests.fake_servers.posthog import FakePostHog
from integration_tests.fake_servers.storage import FakeStorage
from integration_tests.test_posthog_e2e import catalog

pytestmark = pytest.mark.e2e

STOPPED = "source-exports: stdout was closed before the output ended; the command stopped\n"


def test_given_stdout_closed_before_start_when_printing_the_spec_then_one_line_on_stderr_and_status_1():
    reader, writer = os.pipe()
    os.close(reader)  # every write, the first log line's included, meets a broken pipe
    try:
        completed = subprocess.run([COMMAND, "spec"], stdout=writer, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(writer)
    assert (completed.returncode, completed.stderr) == (1, STOPPED)


def test_given_stdout_closed_in_the_middle_of_a_read_when_records_are_written_then_it_stops_cleanly():
    with (
        FakeStorage() as storage,
        FakePostHog(storage, n_events=4000) as posthog,
        tempfile.TemporaryDirectory() as folder,
    ):
        paths: List[str] = []
        for name, value in (("config", {"posthog": posthog.config_block()}), ("catalog", catalog(["posthog_events"]))):
            paths += [f"--{name}", str(Path(folder) / f"{name}.json")]
            Path(paths[-1]).write_text(json.dumps(value))
        process = subprocess.Popen([COMMAND, "read", *paths], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = process.stdout.read(1 << 16)
        process.stdout.close()
        stderr = process.communicate(timeout=120)[1].decode()
    assert len(head) == 1 << 16, "the read ended before its output was closed"
    assert (process.returncode, stderr) == (1, STOPPED)
    whole_lines = [json.loads(line) for line in head.split(b"\n")[:-1]]  # the last piece may be cut
    assert [line["record"]["stream"] for line in whole_lines if line["type"] == "RECORD"][:1] == ["posthog_events"]
