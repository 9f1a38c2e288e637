"""End to end: the installed `source-exports` command against `FakeSourceCraft` + `FakeStorage`.

Every record is compared value by value with the data the fake holds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pendulum
import pytest

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.fake_servers.sourcecraft import FakeSourceCraft, csv_bytes
from integration_tests.fake_servers.storage import FakeStorage

pytestmark = pytest.mark.e2e

STREAMS = ["sourcecraft_runs", "sourcecraft_artifacts", "sourcecraft_artifact_records", "sourcecraft_artifact_files"]
IDENTITY = ("artifact_id", "run_slug", "workflow_slug", "task_slug", "cube_slug", "local_path", "artifact_updated_at")
PARSED = (".xml", ".csv", ".json", ".jsonl")


@pytest.fixture
def storage() -> Iterator[FakeStorage]:
    with FakeStorage() as server:
        yield server


@pytest.fixture
def sourcecraft(storage: FakeStorage) -> Iterator[FakeSourceCraft]:
    with FakeSourceCraft(storage) as server:
        yield server


@pytest.fixture
def staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files directory of file transfer, passed to the command through its environment."""
    folder = tmp_path / "staging"
    folder.mkdir()
    monkeypatch.setenv("AIRBYTE_STAGING_DIRECTORY", str(folder))
    return folder


@pytest.fixture(scope="module")
def catalog() -> Dict[str, Any]:
    """Discovered once, from the default fake: the artifact records' columns are sampled from its reports."""
    with FakeStorage() as storage, FakeSourceCraft(storage) as server:
        return run_cli("discover", {"sourcecraft": server.config_block()}).catalog


def config_of(fake: FakeSourceCraft, **overrides: Any) -> Dict[str, Any]:
    return {"sourcecraft": fake.config_block(**overrides)}


def read(
    catalog: Dict[str, Any], config: Dict[str, Any], streams: List[str], incremental: bool = False, state: Any = None
) -> CliResult:
    result = run_cli("read", config, configured_catalog(catalog, streams, incremental), state)
    assert result.returncode == 0, result.stderr + json.dumps(result.errors)
    assert not result.errors, result.errors
    return result


def by_id(records: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {record["id"]: record for record in records}


def expected_record_rows(fake: FakeSourceCraft, artifacts: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The rows the records stream must emit for these artifact records, with metadata columns."""
    rows = []
    for artifact in artifacts:
        if artifact["status"] != "success" or not artifact["local_path"].endswith(PARSED):
            continue
        label = "/".join(artifact[key] for key in ("run_slug", "workflow_slug", "task_slug", "cube_slug"))
        label += "/" + artifact["local_path"]
        identity = dict(
            zip(
                [f"_sourcecraft_{name}" for name in IDENTITY],
                [
                    artifact["id"],
                    artifact["run_slug"],
                    artifact["workflow_slug"],
                    artifact["task_slug"],
                    artifact["cube_slug"],
                    artifact["local_path"],
                    artifact["dates"]["updated_at"],
                ],
            )
        )
        for number, row in enumerate(fake.expected_rows(artifact["id"]), start=1):
            rows.append({**row, "_ab_source_file": label, "_ab_source_row": number, **identity})
    return rows


def row_key(row: Dict[str, Any]) -> tuple:
    return row["_sourcecraft_artifact_id"], row["_ab_source_row"]


def test_given_valid_token_when_check_then_succeeded_and_wrong_token_names_message_and_request_id(sourcecraft):
    assert run_cli("check", config_of(sourcecraft)).connection_status["status"] == "SUCCEEDED"

    failed = run_cli("check", config_of(sourcecraft, api_token="wrong-token")).connection_status
    assert failed["status"] == "FAILED"
    assert "The access token is invalid or expired" in failed["message"]
    assert f"request_id: {sourcecraft.request_ids[-1]}" in failed["message"]
    assert "wrong-token" not in failed["message"]


def test_given_unknown_repository_when_check_then_failed_naming_repository(sourcecraft):
    status = run_cli("check", config_of(sourcecraft, repo_slug="nope")).connection_status
    assert status["status"] == "FAILED"
    assert "Repository acme/nope not found" in status["message"]
    assert "repo_slug" in status["message"]


def test_given_config_when_discover_then_four_streams_and_files_stream_is_file_based(sourcecraft):
    discovered = {stream["name"]: stream for stream in run_cli("discover", config_of(sourcecraft)).catalog["streams"]}
    assert sorted(discovered) == sorted(STREAMS)
    assert discovered["sourcecraft_artifact_files"]["is_file_based"] is True
    assert not discovered["sourcecraft_runs"].get("is_file_based")
    assert discovered["sourcecraft_runs"]["source_defined_primary_key"] == [["id"]]
    assert discovered["sourcecraft_runs"]["default_cursor_field"] == ["dates", "updated_at"]
    records_schema = discovered["sourcecraft_artifact_records"]["json_schema"]
    assert records_schema["additionalProperties"] is True
    assert {f"_sourcecraft_{name}" for name in IDENTITY} <= set(records_schema["properties"])


def test_given_runs_on_short_pages_when_full_refresh_then_every_run_summary_matches(catalog, sourcecraft):
    sourcecraft.faults.fail_next(503, times=2, path="/cicd/runs$")  # retried by the shared policy
    result = read(catalog, config_of(sourcecraft), ["sourcecraft_runs"])
    assert result.records("sourcecraft_runs") == sourcecraft.expected_runs()
    assert {run["status"] for run in result.records("sourcecraft_runs")} >= {
        "success",
        "failed",
        "canceled",
        "timeout",
        "processing",
        "created",
    }
    page_sizes = {request.query["page_size"] for request in sourcecraft.requests_to(r"/cicd/runs$")}
    assert page_sizes == {"100"}  # identical parameters on every page


def test_given_artifacts_in_every_status_when_full_refresh_then_records_match_without_download_urls(
    catalog, sourcecraft
):
    result = read(catalog, config_of(sourcecraft), ["sourcecraft_artifacts"])
    records = result.records("sourcecraft_artifacts")
    assert by_id(records) == by_id(sourcecraft.expected_artifacts())
    assert len(records) == len(sourcecraft.expected_artifacts())
    assert {record["status"] for record in records} == {"registered", "success", "failed", "missing"}
    output = "\n".join(result.stdout_lines)
    assert "download_url" not in output and "X-Amz-Signature" not in output


def test_given_workflows_filter_when_reading_artifacts_then_only_those_workflows(catalog, sourcecraft):
    result = read(catalog, config_of(sourcecraft, workflows=["build"]), ["sourcecraft_artifacts"])
    assert by_id(result.records("sourcecraft_artifacts")) == by_id(sourcecraft.expected_artifacts(workflows=["build"]))


def test_given_reports_when_reading_records_then_rows_of_every_format_match_the_files(catalog, sourcecraft, storage):
    result = read(catalog, config_of(sourcecraft), ["sourcecraft_artifact_records"])
    expected = expected_record_rows(sourcecraft, sourcecraft.expected_artifacts())
    assert sorted(result.records("sourcecraft_artifact_records"), key=row_key) == sorted(expected, key=row_key)
    formats = {row["_sourcecraft_local_path"].rsplit(".", 1)[-1] for row in expected}
    assert formats == {"xml", "csv", "json", "jsonl"}
    messages = [log["message"] for log in result.logs]
    assert any("dist/app.bin skipped: no parser" in message for message in messages)
    assert any("logs/build.log skipped: no parser" in message for message in messages)
    summary = [message for message in messages if "artifact(s) read; skipped:" in message]
    assert summary == [
        "sourcecraft_artifact_records: 7 artifact(s) read; skipped: 2 of an unsupported file type, "
        "1 status failed, 1 status missing, 2 status registered"
    ]
    assert storage.auth_header_violations == 0


def test_given_artifact_paths_when_reading_records_then_only_matching_reports(catalog, sourcecraft):
    config = config_of(sourcecraft, artifact_paths=["reports/**/*.xml"])
    result = read(catalog, config, ["sourcecraft_artifact_records"])
    junit = [item for item in sourcecraft.expected_artifacts() if item["local_path"] == "reports/junit.xml"]
    expected = expected_record_rows(sourcecraft, junit)
    assert sorted(result.records("sourcecraft_artifact_records"), key=row_key) == sorted(expected, key=row_key)
    assert {row["status"] for row in expected} == {"passed", "failed", "error", "skipped"}


def test_given_expired_download_url_when_reading_records_then_url_is_minted_again(catalog, sourcecraft, storage):
    storage.faults.expire_next(1)
    config = config_of(sourcecraft, artifact_paths=["metrics/bench.json"])
    result = read(catalog, config, ["sourcecraft_artifact_records"])
    (bench,) = [item for item in sourcecraft.expected_artifacts() if item["local_path"] == "metrics/bench.json"]
    assert sorted(result.records("sourcecraft_artifact_records"), key=row_key) == expected_record_rows(
        sourcecraft, [bench]
    )
    assert [download.status for download in storage.downloads] == [403, 200]
    assert len(sourcecraft.requests_to(r"/cicd/artifacts/4/bench/perf/bench$")) == 2  # listed, then re-listed


def test_given_runs_in_progress_when_first_incremental_sync_then_it_equals_a_full_refresh(catalog, sourcecraft):
    streams = ["sourcecraft_runs", "sourcecraft_artifacts", "sourcecraft_artifact_records"]
    full = read(catalog, config_of(sourcecraft), streams)
    first = read(catalog, config_of(sourcecraft), streams, incremental=True)
    for stream in streams:
        assert first.records(stream) == full.records(stream), stream
    assert by_id(first.records("sourcecraft_artifacts")) == by_id(sourcecraft.expected_artifacts())
    expected = expected_record_rows(sourcecraft, sourcecraft.expected_artifacts())
    assert sorted(first.records("sourcecraft_artifact_records"), key=row_key) == sorted(expected, key=row_key)
    running = {row["_sourcecraft_local_path"] for row in expected if row["_sourcecraft_run_slug"] == "5"}
    assert running == {"reports/early.csv"}  # run 5 is processing: its finished report is there already
    state = first.last_state()
    assert {entry["stream"]["stream_state"]["max_slug"] for entry in state} == {"7"}
    assert all(entry["stream"]["stream_state"]["unfinished_slugs"] == ["5", "7"] for entry in state)


def test_given_a_run_in_progress_when_it_gains_an_artifact_and_then_finishes_then_each_sync_emits_its_current_state(
    catalog, sourcecraft
):
    config = config_of(sourcecraft)
    streams = ["sourcecraft_runs", "sourcecraft_artifacts", "sourcecraft_artifact_records"]
    first = read(catalog, config, streams, incremental=True)
    (registered,) = [
        item
        for item in first.records("sourcecraft_artifacts")
        if item["run_slug"] == "5" and item["local_path"] == "reports/junit.xml"
    ]
    assert registered["status"] == "registered"

    late_rows = [{"step": "lint", "ok": True}]
    late = sourcecraft.add_artifact(
        ("5", "test", "unit", "pytest"), "reports/late.json", "success", json.dumps(late_rows).encode(), late_rows
    )
    second = read(catalog, config, streams, incremental=True, state=first.last_state())
    runs = {run["slug"]: run for run in sourcecraft.expected_runs()}
    assert second.records("sourcecraft_runs") == [runs["7"], runs["5"]]  # unfinished: read again
    assert by_id(second.records("sourcecraft_artifacts")) == by_id(sourcecraft.expected_artifacts(["5"]))
    rows = sorted(second.records("sourcecraft_artifact_records"), key=row_key)
    assert rows == sorted(expected_record_rows(sourcecraft, sourcecraft.expected_artifacts(["5"])), key=row_key)
    assert [row["step"] for row in rows if row["_sourcecraft_artifact_id"] == late] == ["lint"]
    assert all(entry["stream"]["stream_state"]["unfinished_slugs"] == ["5", "7"] for entry in second.last_state())

    sourcecraft.finish_run("5")
    sourcecraft.clear_log()
    third = read(catalog, config, streams, incremental=True, state=second.last_state())
    runs = {run["slug"]: run for run in sourcecraft.expected_runs()}
    assert third.records("sourcecraft_runs") == [runs["7"], runs["5"]]
    assert by_id(third.records("sourcecraft_artifacts"))[registered["id"]]["status"] == "success"
    expected = expected_record_rows(sourcecraft, sourcecraft.expected_artifacts(["5"]))
    assert {row["_sourcecraft_local_path"] for row in expected} == {
        "reports/junit.xml",
        "reports/early.csv",
        "reports/late.json",
    }
    assert sorted(third.records("sourcecraft_artifact_records"), key=row_key) == sorted(expected, key=row_key)
    assert all(entry["stream"]["stream_state"]["unfinished_slugs"] == ["7"] for entry in third.last_state())
    # newest first and nothing below run 5 to look at: each stream stops after page 2 of 4
    assert len(sourcecraft.requests_to(r"/cicd/runs$")) == 2 * len(streams)


def test_given_runs_listed_oldest_first_when_incremental_then_nothing_is_missed(catalog, storage):
    with FakeSourceCraft(storage, newest_first=False) as fake:
        first = read(catalog, config_of(fake), ["sourcecraft_runs"], incremental=True)
        assert sorted(first.records("sourcecraft_runs"), key=lambda run: int(run["slug"])) == sorted(
            fake.expected_runs(), key=lambda run: int(run["slug"])
        )
        fake.finish_run("5")
        new_slug = fake.add_run("processing", {})
        second = read(catalog, config_of(fake), ["sourcecraft_runs"], incremental=True, state=first.last_state())
        assert sorted(run["slug"] for run in second.records("sourcecraft_runs")) == ["5", "7", new_slug]
        assert any("did not list runs newest first" in log["message"] for log in second.logs)


OLD_ROWS = [{"metric": "p95_ms", "value": "412"}, {"metric": "errors", "value": "0"}]


def add_old_run(fake: FakeSourceCraft, days_ago: float = 20) -> str:
    """A run that finished `days_ago` days ago, with two reports and a binary, all listed as `success`."""
    return fake.add_run(
        "success",
        {
            "nightly": {
                "load": {
                    "k6": [
                        ("reports/load.csv", "success", csv_bytes(OLD_ROWS), OLD_ROWS),
                        ("reports/summary.json", "success", json.dumps(OLD_ROWS[0]).encode(), [OLD_ROWS[0]]),
                        ("dist/trace.bin", "success", bytes(range(256)) * 4, None),
                    ]
                }
            }
        },
        hours_ago=days_ago * 24,
    )


def test_given_artifacts_older_than_14_days_still_offered_when_reading_then_every_row_and_file_arrives(
    sourcecraft, staging
):
    slug = add_old_run(sourcecraft)
    config = config_of(sourcecraft, workflows=["nightly"])
    fresh = run_cli("discover", config).catalog  # the old run's reports bring columns of their own
    result = read(fresh, config, ["sourcecraft_artifact_records", "sourcecraft_artifact_files"], incremental=True)
    old = sourcecraft.expected_artifacts([slug])
    assert all(
        pendulum.now("UTC") - pendulum.parse(item["dates"]["updated_at"]) > pendulum.duration(days=19) for item in old
    )  # the precondition: every date of these artifacts is past the 14 days
    expected = expected_record_rows(sourcecraft, old)
    assert [row["metric"] for row in expected] == ["p95_ms", "errors", "p95_ms"]
    assert sorted(result.records("sourcecraft_artifact_records"), key=row_key) == sorted(expected, key=row_key)
    files = {
        message["record"]["data"]["id"]: message["record"]["file_reference"]
        for message in result.of_type("RECORD")
        if message["record"]["stream"] == "sourcecraft_artifact_files"
    }
    assert sorted(files) == sorted(item["id"] for item in old)
    for artifact_id, reference in files.items():
        assert Path(reference["staging_file_url"]).read_bytes() == sourcecraft.bodies[artifact_id]
    assert not [log for log in result.logs if log["level"] == "WARN"]


@pytest.mark.parametrize("answer", [403, 404, 410, "no_url"])
def test_given_storage_refusing_artifacts_past_14_days_when_reading_then_each_is_named_in_a_warning_and_others_arrive(
    catalog, storage, staging, answer
):
    with FakeSourceCraft(storage, retention_days=14, retention_answer=answer) as fake:
        slug = add_old_run(fake)
        result = read(catalog, config_of(fake), ["sourcecraft_artifact_records", "sourcecraft_artifact_files"])
        young = [item for item in fake.expected_artifacts() if item["run_slug"] != slug]
        assert sorted(result.records("sourcecraft_artifact_records"), key=row_key) == sorted(
            expected_record_rows(fake, young), key=row_key
        )
        staged = sorted(
            message["record"]["data"]["id"]
            for message in result.of_type("RECORD")
            if message["record"]["stream"] == "sourcecraft_artifact_files"
        )
        assert staged == sorted(item["id"] for item in young if item["status"] == "success")
        refused = "SourceCraft gave no download URL for it" if answer == "no_url" else f"storage answered HTTP {answer}"
        warnings = sorted(log["message"] for log in result.logs if log["level"] == "WARN")
        labels = {"reports/load.csv", "reports/summary.json", "dist/trace.bin"}
        expected = sorted(
            f"{stream}: {slug}/nightly/load/k6/{path} skipped: SourceCraft listed it as downloadable, but {refused}."
            for stream in ("sourcecraft_artifact_files", "sourcecraft_artifact_records")
            for path in labels
            if stream == "sourcecraft_artifact_files" or not path.endswith(".bin")
        )
        assert [warning.split(" Its latest date")[0] for warning in warnings] == expected
        assert all(
            "more than 14 days ago, past the 14 days SourceCraft keeps artifact contents" in warning
            for warning in warnings
        )
        assert fake.retired == {item["id"] for item in fake.expected_artifacts([slug])}


def test_given_storage_refusing_an_artifact_within_14_days_when_reading_then_the_sync_fails_naming_it(
    catalog, sourcecraft
):
    (bench,) = [item for item in sourcecraft.expected_artifacts() if item["local_path"] == "metrics/bench.json"]
    sourcecraft.delete_contents(bench["id"])
    result = run_cli("read", config_of(sourcecraft), configured_catalog(catalog, ["sourcecraft_artifact_records"]))
    assert result.returncode != 0
    error = result.errors[0]  # the stream's own error; the CDK's sync summary follows it
    assert error["failure_type"] == "transient_error"
    assert error["message"].startswith("1 artifact(s) could not be read. First: Storage answered HTTP 404")
    assert "NoSuchKey" in error["message"]
    assert "file: 4/bench/perf/bench/metrics/bench.json" in error["message"]
    others = [item for item in sourcecraft.expected_artifacts() if item["id"] != bench["id"]]
    assert sorted(result.records("sourcecraft_artifact_records"), key=row_key) == sorted(
        expected_record_rows(sourcecraft, others), key=row_key
    )
    assert "X-Amz-Signature" not in "\n".join(result.stdout_lines)


def test_given_state_older_than_14_days_when_reading_records_then_warning_names_the_gap(catalog, sourcecraft):
    synced = pendulum.now("UTC").subtract(days=20)
    state = [
        {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": "sourcecraft_artifact_records"},
                "stream_state": {"max_slug": "7", "unfinished_slugs": [], "synced_at": synced.isoformat()},
            },
        }
    ]
    result = read(catalog, config_of(sourcecraft), ["sourcecraft_artifact_records"], incremental=True, state=state)
    warnings = [log["message"] for log in result.logs if "no longer downloadable" in log["message"]]
    assert {log["level"] for log in result.logs if "no longer downloadable" in log["message"]} == {"WARN"}
    assert len(warnings) == 1
    assert synced.format("YYYY-MM-DDTHH:mm:ss") in warnings[0]
    assert pendulum.now("UTC").subtract(days=14).format("YYYY-MM-DD") in warnings[0]


def test_given_file_transfer_when_reading_files_then_each_file_is_staged_byte_for_byte(catalog, sourcecraft, staging):
    result = read(catalog, config_of(sourcecraft), ["sourcecraft_artifact_files"])
    messages = [message["record"] for message in result.of_type("RECORD")]
    expected = {item["id"]: item for item in sourcecraft.expected_artifacts() if item["status"] == "success"}
    assert sorted(record["data"]["id"] for record in messages) == sorted(expected)
    for record in messages:
        data, reference = record["data"], record["file_reference"]
        artifact = expected[data["id"]]
        staged = Path(reference["staging_file_url"])
        assert staged.read_bytes() == sourcecraft.bodies[data["id"]]
        assert staged.is_relative_to(staging)
        cube_path = "/".join(artifact[key] for key in ("run_slug", "workflow_slug", "task_slug", "cube_slug"))
        assert reference["source_file_relative_path"] == f"{cube_path}/{artifact['id']}/{artifact['local_path']}"
        assert data["source_uri"] == f"sourcecraft://acme/widgets/{cube_path}/{artifact['local_path']}"
        assert staged.as_posix().endswith(reference["source_file_relative_path"])
        assert reference["file_size_bytes"] == data["bytes"] == len(sourcecraft.bodies[data["id"]])
        assert data["_sourcecraft_local_path"] == artifact["local_path"]
        assert data["updated_at"] == artifact["dates"]["updated_at"]
    folders = {Path(record["file_reference"]["staging_file_url"]).relative_to(staging).parts[0] for record in messages}
    assert len(folders) == len(messages)  # one unique folder per artifact


def test_given_hostile_local_paths_when_reading_files_then_nothing_is_written_outside_the_artifact_folder(
    catalog, sourcecraft, staging, tmp_path
):
    hostile = [
        "../../../../../../../escape.txt",  # deep enough to leave the staging folder if joined as is
        "/etc/abs.txt",
        "..\\..\\..\\..\\..\\..\\win.txt",
        "a/../../../../../../../b/c.txt",
        "odd\x00na\nme?*.txt",
    ]
    slug = sourcecraft.add_run("success", {"evil": {"task": {"cube": []}}})
    for index, path in enumerate(hostile):
        sourcecraft.add_artifact((slug, "evil", "task", "cube"), path, "success", f"payload {index}".encode())
    result = read(catalog, config_of(sourcecraft, workflows=["evil"]), ["sourcecraft_artifact_files"])
    records = [message["record"] for message in result.of_type("RECORD")]
    assert len(records) == len(hostile)
    written = sorted(path for path in tmp_path.rglob("*") if path.is_file())
    assert written == sorted(Path(record["file_reference"]["staging_file_url"]) for record in records)
    for record in records:
        staged = Path(record["file_reference"]["staging_file_url"])
        assert staged.resolve().is_relative_to(staging.resolve())
        relative = record["file_reference"]["source_file_relative_path"]
        assert ".." not in relative.split("/") and not relative.startswith("/") and "\\" not in relative
        assert "\x00" not in relative and "\n" not in relative
        assert staged.read_bytes() == sourcecraft.bodies[record["data"]["id"]]
    assert not any(name in os.listdir(tmp_path) for name in ("escape.txt", "b", "win.txt"))


def test_given_artifacts_sharing_a_local_path_when_reading_files_then_each_keeps_its_own_destination_path(
    catalog, sourcecraft, staging, tmp_path
):
    slug = sourcecraft.add_run("success", {"matrix": {"test": {"py311": [], "py312": []}}})
    uploads = [("py311", "first"), ("py311", "second"), ("py312", "third")]  # the same path twice in one cube
    for cube, body in uploads:
        sourcecraft.add_artifact((slug, "matrix", "test", cube), "reports/out.txt", "success", body.encode())
    result = read(catalog, config_of(sourcecraft, workflows=["matrix"]), ["sourcecraft_artifact_files"])
    references = [message["record"]["file_reference"] for message in result.of_type("RECORD")]
    assert len({reference["source_file_relative_path"] for reference in references}) == len(uploads)
    destination = tmp_path / "destination"  # what a destination does: copy each file to its relative path
    for reference in references:
        target = destination / reference["source_file_relative_path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(reference["staging_file_url"]).read_bytes())
    arrived = sorted(path.read_text() for path in destination.rglob("*") if path.is_file())
    assert arrived == ["first", "second", "third"]
    ids = {item["id"]: item for item in sourcecraft.expected_artifacts([slug])}
    assert sorted(reference["source_file_relative_path"] for reference in references) == sorted(
        f"{slug}/matrix/test/{item['cube_slug']}/{artifact_id}/reports/out.txt" for artifact_id, item in ids.items()
    )
