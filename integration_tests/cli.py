"""Runs the installed `source-exports` command as a subprocess and sorts its output by type.

End-to-end tests use this so they exercise exactly what users run: the console script, the
Airbyte protocol on stdout, and exit codes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

COMMAND = shutil.which("source-exports") or "source-exports"


@dataclass
class CliResult:
    """Everything one command printed, split by Airbyte message type."""

    returncode: int
    messages: List[Dict[str, Any]]
    stderr: str
    stdout_lines: List[str] = field(default_factory=list)

    @classmethod
    def from_output(cls, returncode: int, stdout: str, stderr: str) -> CliResult:
        """Parse a command's stdout into messages; a line that is not JSON is kept as NOT_JSON."""
        lines = stdout.splitlines()
        messages = []
        for line in lines:
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:
                messages.append({"type": "NOT_JSON", "line": line})
        return cls(returncode, messages, stderr, lines)

    def of_type(self, message_type: str) -> List[Dict[str, Any]]:
        return [message for message in self.messages if message.get("type") == message_type]

    def records(self, stream: Optional[str] = None) -> List[Dict[str, Any]]:
        """The `data` of every RECORD, optionally of one stream."""
        return [
            message["record"]["data"]
            for message in self.of_type("RECORD")
            if stream is None or message["record"]["stream"] == stream
        ]

    @property
    def states(self) -> List[Dict[str, Any]]:
        return [message["state"] for message in self.of_type("STATE")]

    def last_state(self) -> List[Dict[str, Any]]:
        """The final STATE per stream, in the shape `--state` accepts."""
        latest: Dict[str, Dict[str, Any]] = {}
        for state in self.states:
            latest[state["stream"]["stream_descriptor"]["name"]] = state
        return list(latest.values())

    @property
    def logs(self) -> List[Dict[str, Any]]:
        return [message["log"] for message in self.of_type("LOG")]

    @property
    def errors(self) -> List[Dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    @property
    def connection_status(self) -> Dict[str, Any]:
        (status,) = [message["connectionStatus"] for message in self.of_type("CONNECTION_STATUS")]
        return status

    @property
    def catalog(self) -> Dict[str, Any]:
        (catalog,) = [message["catalog"] for message in self.of_type("CATALOG")]
        return catalog


def run_cli(
    verb: str,
    config: Optional[Mapping[str, Any]] = None,
    catalog: Optional[Mapping[str, Any]] = None,
    state: Optional[Sequence[Mapping[str, Any]]] = None,
    timeout: float = 300,
) -> CliResult:
    """Run `source-exports <verb>` with the given JSON inputs written to temporary files."""
    with tempfile.TemporaryDirectory(prefix="source-exports-test-") as folder:
        args = [COMMAND, verb]
        for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if value is not None:
                path = Path(folder) / f"{flag[2:]}.json"
                path.write_text(json.dumps(value))
                args += [flag, str(path)]
        completed = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return CliResult.from_output(completed.returncode, completed.stdout, completed.stderr)


def configured_catalog(catalog: Mapping[str, Any], streams: Sequence[str], incremental: bool = False) -> Dict[str, Any]:
    """A configured catalog selecting `streams` from a discovered catalog."""
    chosen = []
    by_name = {stream["name"]: stream for stream in catalog["streams"]}
    for name in streams:
        stream = by_name[name]
        mode = "incremental" if incremental and "incremental" in stream["supported_sync_modes"] else "full_refresh"
        chosen.append(
            {
                "stream": stream,
                "sync_mode": mode,
                "destination_sync_mode": "append",
                "cursor_field": stream.get("default_cursor_field", []),
                "primary_key": stream.get("source_defined_primary_key", []),
            }
        )
    return {"streams": chosen}
