"""Stream behaviour with requests-mock: deferral of unfinished runs, isolated artifact failures, file transfer."""

from __future__ import annotations

import json
import logging

import pendulum
import pytest
from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_exports.config import CommonConfig
from source_exports.errors import ConfigError, DownloadError, ExportsError, RecordParseError
from source_exports.vendors.sourcecraft import VENDOR
from source_exports.vendors.sourcecraft.files import ArtifactFileWriter
from unit_tests.vendors.sourcecraft.builders import RunBuilder, artifact

API = "https://api.sourcecraft.test"
REPO = f"{API}/repos/o/r/cicd"
OLD_URL = "https://storage.test/old?X-Amz-Signature=s"
BLOCK = {"api_token": "tok", "api_url": API, "org_slug": "o", "repo_slug": "r"}


def streams(**overrides):
    return {stream.name: stream for stream in VENDOR.streams({**BLOCK, **overrides}, CommonConfig(None))}


def given_runs(requests_mock, *runs):
    requests_mock.get(f"{REPO}/runs", json={"runs": list(runs)})
    for run in runs:
        requests_mock.get(f"{REPO}/runs/{run['slug']}", json=run)


def given_artifacts(requests_mock, cube_path: str, items, bodies=None):
    requests_mock.get(f"{REPO}/artifacts/{cube_path}", json={"artifacts": items})
    for item in items:
        if bodies and item["id"] in bodies:
            requests_mock.get(item["download_url"], content=bodies[item["id"]])


def item(artifact_id: str, path: str, status: str = "success") -> dict:
    return artifact(artifact_id, path, status=status, url=f"https://storage.test/{artifact_id}?X-Amz-Signature=s")


def test_given_unfinished_run_when_incremental_artifacts_then_emitted_now_and_kept_in_state(requests_mock):
    done = RunBuilder("2").with_workflow("test", {"unit": ["pytest"]}).build()
    started = pendulum.now("UTC").to_iso8601_string()
    running = RunBuilder("3").with_status("processing").with_created_at(started)
    running = running.with_workflow("test", {"unit": ["pytest"]}).build()
    given_runs(requests_mock, running, done)
    given_artifacts(requests_mock, "2/test/unit/pytest", [item("a2", "r.xml")])
    given_artifacts(requests_mock, "3/test/unit/pytest", [item("a3", "r.xml", "registered")])
    stream = streams()["sourcecraft_artifacts"]
    records = list(stream.read_records(SyncMode.incremental))
    assert [(record["id"], record["status"]) for record in records] == [("a3", "registered"), ("a2", "success")]
    assert stream.state["unfinished_slugs"] == ["3"]  # read again by the next sync

    full = streams()["sourcecraft_artifacts"]
    assert list(full.read_records(SyncMode.full_refresh)) == records


def test_given_unfinished_run_in_state_when_it_gains_an_artifact_then_the_next_sync_emits_it(requests_mock):
    running = RunBuilder("3").with_status("processing").with_created_at(pendulum.now("UTC").to_iso8601_string())
    running = running.with_workflow("test", {"unit": ["pytest"]}).build()
    given_runs(requests_mock, running, RunBuilder("2").build())
    given_artifacts(
        requests_mock,
        "3/test/unit/pytest",
        [item("a3", "early.json"), item("late", "late.json")],
        {"a3": b'{"n": 1}', "late": b'{"n": 2}'},
    )
    stream = streams()["sourcecraft_artifact_records"]
    stream.state = {"max_slug": "3", "unfinished_slugs": ["3"], "updated_at": running["dates"]["updated_at"]}
    rows = list(stream.read_records(SyncMode.incremental))
    assert [(row["_sourcecraft_artifact_id"], row["n"]) for row in rows] == [("a3", 1), ("late", 2)]
    assert stream.state["unfinished_slugs"] == ["3"]


def test_given_one_bad_report_when_reading_records_then_others_are_read_and_error_names_it_at_the_end(
    requests_mock, caplog
):
    run = RunBuilder("5").with_workflow("test", {"unit": ["pytest"]}).build()
    given_runs(requests_mock, run)
    bodies = {"bad": b'{"a": 1', "good": b'[{"a": 1}, {"a": 2}]'}
    given_artifacts(
        requests_mock, "5/test/unit/pytest", [item("bad", "m/bad.json"), item("good", "m/good.json")], bodies
    )
    stream = streams()["sourcecraft_artifact_records"]
    stream.state = {"max_slug": "4", "unfinished_slugs": [], "updated_at": "2025-01-01T00:00:00Z"}
    rows = []
    with pytest.raises(RecordParseError) as raised, caplog.at_level(logging.ERROR):
        for row in stream.read_records(SyncMode.incremental):
            rows.append(row)
    assert [row["a"] for row in rows] == [1, 2]
    assert {row["_sourcecraft_artifact_id"] for row in rows} == {"good"}
    message = str(raised.value)
    assert "1 artifact(s) could not be read" in message
    assert "file: 5/test/unit/pytest/m/bad.json" in message and "stream: sourcecraft_artifact_records" in message
    assert stream.state["max_slug"] == "4"  # not advanced: the failed artifact is read again next time
    assert "X-Amz-Signature" not in caplog.text


def test_given_an_unexpected_exception_in_one_artifact_when_reading_records_then_it_stays_with_that_artifact(
    requests_mock, monkeypatch
):
    run = RunBuilder("5").with_workflow("test", {"unit": ["pytest"]}).build()
    given_runs(requests_mock, run)
    bodies = {"one": b'[{"a": 1}]', "odd": b'[{"a": 2}]', "three": b'[{"a": 3}]'}
    given_artifacts(
        requests_mock,
        "5/test/unit/pytest",
        [item("one", "m/1.json"), item("odd", "m/2.json"), item("three", "m/3.json")],
        bodies,
    )
    stream = streams()["sourcecraft_artifact_records"]
    download = stream.download

    def download_or_fail(artifact):
        if artifact.local_path == "m/2.json":
            raise KeyError("surprise")  # not an error of ours: a bug, or a library's surprise
        return download(artifact)

    monkeypatch.setattr(stream, "download", download_or_fail)
    rows = []
    with pytest.raises(ExportsError) as raised:
        for row in stream.read_records(SyncMode.full_refresh):
            rows.append(row)
    assert [row["a"] for row in rows] == [1, 3]
    assert "1 artifact(s) could not be read" in str(raised.value) and "KeyError" in str(raised.value)
    assert "file: 5/test/unit/pytest/m/2.json" in str(raised.value)
    assert raised.value.failure_type.value == "system_error"


def test_given_success_artifacts_when_reading_files_then_records_carry_file_references(requests_mock, tmp_path):
    run = RunBuilder("5").with_workflow("build", {"compile": ["make"]}).build()
    given_runs(requests_mock, run)
    bodies = {"bin": bytes(range(256)) * 10}
    given_artifacts(
        requests_mock,
        "5/build/compile/make",
        [item("bin", "../dist/app.bin"), item("gone", "x.bin", "missing")],
        bodies,
    )
    stream = streams()["sourcecraft_artifact_files"]
    stream._writer = ArtifactFileWriter(str(tmp_path))
    (message,) = list(stream.read_records(SyncMode.full_refresh))
    reference = message.record.file_reference
    assert reference.source_file_relative_path == "5/build/compile/make/bin/dist/app.bin"
    assert reference.file_size_bytes == 2560
    with open(reference.staging_file_url, "rb") as staged:
        assert staged.read() == bodies["bin"]
    data = message.record.data
    assert data["file_name"] == "app.bin" and data["folder"] == "5/build/compile/make/bin/dist"
    assert data["source_uri"] == "sourcecraft://o/r/5/build/compile/make/../dist/app.bin"
    assert data["_sourcecraft_local_path"] == "../dist/app.bin" and "download_url" not in json.dumps(data)
    assert stream.as_airbyte_stream().is_file_based is True


def test_given_two_artifacts_with_one_local_path_when_reading_files_then_distinct_relative_paths(
    requests_mock, tmp_path
):
    run = RunBuilder("5").with_workflow("build", {"compile": ["make"]}).build()
    given_runs(requests_mock, run)
    bodies = {"first": b"one", "second": b"two"}
    given_artifacts(
        requests_mock, "5/build/compile/make", [item("first", "out/r.txt"), item("second", "out/r.txt")], bodies
    )
    stream = streams()["sourcecraft_artifact_files"]
    stream._writer = ArtifactFileWriter(str(tmp_path))
    references = {
        message.record.data["id"]: message.record.file_reference
        for message in stream.read_records(SyncMode.full_refresh)
    }
    assert {key: ref.source_file_relative_path for key, ref in references.items()} == {
        "first": "5/build/compile/make/first/out/r.txt",
        "second": "5/build/compile/make/second/out/r.txt",
    }
    for key, reference in references.items():
        with open(reference.staging_file_url, "rb") as staged:
            assert staged.read() == bodies[key]


def old_and_young_reports(requests_mock, refused_status: int):
    """Run 5 (finished long ago) holds an old report that storage refuses and a young one it serves."""
    run = RunBuilder("5").with_workflow("test", {"unit": ["pytest"]}).build()
    given_runs(requests_mock, run)
    old = artifact("old", "old.json", url=OLD_URL, updated_at="2025-03-01T00:05:00Z")
    young = item("young", "young.json")
    given_artifacts(requests_mock, "5/test/unit/pytest", [old, young], {"young": b'[{"a": 1}]'})
    requests_mock.get(old["download_url"], status_code=refused_status, text="<Error><Code>NoSuchKey</Code></Error>")


@pytest.mark.parametrize("status", [403, 404, 410])
def test_given_old_artifact_refused_by_storage_when_reading_records_then_warning_names_it_and_sync_goes_on(
    requests_mock, caplog, status
):
    old_and_young_reports(requests_mock, status)
    stream = streams()["sourcecraft_artifact_records"]
    with caplog.at_level(logging.INFO):
        rows = list(stream.read_records(SyncMode.incremental))
    assert [(row["_sourcecraft_artifact_id"], row["a"]) for row in rows] == [("young", 1)]
    (warning,) = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert (
        f"5/test/unit/pytest/old.json skipped: SourceCraft listed it as downloadable, but storage answered HTTP "
        f"{status}. Its latest date (2025-03-01T00:05:00.000Z) is more than 14 days ago" in warning
    )
    assert "1 refused past the 14-day retention" in caplog.text
    assert stream.state["max_slug"] == "5"
    assert "X-Amz-Signature" not in caplog.text


def test_given_young_artifact_refused_by_storage_when_reading_records_then_error_names_it(requests_mock):
    run = RunBuilder("5").with_workflow("test", {"unit": ["pytest"]}).build()
    given_runs(requests_mock, run)
    gone = item("gone", "gone.json")
    given_artifacts(requests_mock, "5/test/unit/pytest", [gone])
    requests_mock.get(gone["download_url"], status_code=404, text="NoSuchKey")
    stream = streams()["sourcecraft_artifact_records"]
    with pytest.raises(DownloadError) as raised:
        list(stream.read_records(SyncMode.full_refresh))
    assert "Storage answered HTTP 404" in str(raised.value)
    assert "file: 5/test/unit/pytest/gone.json" in str(raised.value)


def test_given_old_artifact_still_served_when_reading_records_then_its_rows_are_emitted(requests_mock, caplog):
    run = RunBuilder("5").with_workflow("test", {"unit": ["pytest"]}).build()
    given_runs(requests_mock, run)
    old = artifact("old", "old.json", url=OLD_URL, updated_at="2020-01-01T00:00:00Z")
    given_artifacts(requests_mock, "5/test/unit/pytest", [old], {"old": b'{"a": 7}'})
    with caplog.at_level(logging.WARNING):
        rows = list(streams()["sourcecraft_artifact_records"].read_records(SyncMode.full_refresh))
    assert [(row["_sourcecraft_artifact_id"], row["a"]) for row in rows] == [("old", 7)]
    assert caplog.text == ""


def test_given_runs_when_reading_runs_then_summary_without_task_tree(requests_mock):
    run = RunBuilder("5").with_workflow("build", {"compile": ["make"]}).build()
    given_runs(requests_mock, run)
    (record,) = list(streams()["sourcecraft_runs"].read_records(SyncMode.full_refresh))
    assert record["workflows"] == [{"id": "wf-build", "slug": "build", "status": "success"}]
    assert record["slug"] == "5"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"api_token": ""}, "sourcecraft.api_token"),
        ({"org_slug": "a/b"}, "sourcecraft.org_slug"),
        ({"repo_slug": None}, "sourcecraft.repo_slug"),
        ({"api_url": "ftp://x"}, "sourcecraft.api_url"),
        ({"workflows": "test"}, "sourcecraft.workflows"),
        ({"artifact_paths": ["ok", ""]}, "sourcecraft.artifact_paths[1]"),
    ],
)
def test_given_invalid_block_when_building_streams_then_config_error_names_field(overrides, field):
    with pytest.raises(ConfigError) as raised:
        streams(**overrides)
    assert f"field: {field}" in str(raised.value)


def test_given_block_when_checking_then_one_page_of_one_run_is_requested(requests_mock):
    requests_mock.get(f"{REPO}/runs", json={"runs": []})
    VENDOR.check(BLOCK, CommonConfig(None), logging.getLogger("test"))
    assert requests_mock.last_request.qs == {"page_size": ["1"]}
    assert requests_mock.last_request.headers["Authorization"] == "Bearer tok"


def test_given_no_api_url_when_building_streams_then_the_public_api_is_used():
    assert streams(api_url=None)["sourcecraft_runs"].client.api_url == "https://api.sourcecraft.tech"


def test_given_the_run_listing_refused_when_discovering_records_then_discover_fails_with_its_failure_type(
    requests_mock,
):
    requests_mock.get(f"{REPO}/runs", status_code=401, json={"message": "bad token"})

    with pytest.raises(AirbyteTracedException) as caught:
        streams()["sourcecraft_artifact_records"].get_json_schema()

    assert caught.value.failure_type == FailureType.config_error
    assert caught.value.message.startswith("Could not sample stream 'sourcecraft_artifact_records' for its schema: ")
    assert caught.value.message.endswith("Refresh the source schema once this is fixed or the vendor answers again")


def test_given_no_report_artifact_yet_when_discovering_records_then_metadata_columns_any_other_allowed_and_a_warning(
    requests_mock, caplog
):
    given_runs(requests_mock)
    stream = streams()["sourcecraft_artifact_records"]

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        schema = stream.get_json_schema()

    assert schema["properties"] == stream.metadata_schema() and schema["additionalProperties"] is True
    warning = next(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert warning.startswith("sourcecraft_artifact_records: there is no report artifact to sample yet")
    assert "refresh the source schema after the first report artifact exists" in warning
