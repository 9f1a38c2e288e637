"""Fast checks that the fakes behave like the real services where the connector depends on it."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest
import requests

from integration_tests.fake_servers import ENRICH_WORKFLOW_UUID, SCORE_WORKFLOW_UUID, FakeStorage, FakeVendors
from integration_tests.fake_servers.spaaza import FakeSpaaza
from integration_tests.fake_servers.spaaza import matches as spaaza_matches

TOKEN = {"Authorization": "Bearer cargo-test-token"}
DATA = bytes(range(256)) * 1024  # 256 KiB: several 64 KiB chunks


@pytest.fixture
def storage():
    with FakeStorage() as server:
        server.put_bytes("exports/data.bin", DATA)
        yield server


@pytest.fixture
def fakes():
    with FakeVendors() as vendors:
        yield vendors


def export(cargo, **body):
    return requests.post(f"{cargo.url}/v1/orchestration/runs/download-outputs", headers=TOKEN, json=body, timeout=10)


def test_given_signed_url_when_downloading_then_full_object_and_no_violation(storage):
    response = requests.get(storage.sign("exports/data.bin"), timeout=10)
    assert (response.status_code, response.content) == (200, DATA)
    assert response.headers["Accept-Ranges"] == "bytes"
    assert storage.auth_header_violations == 0


def test_given_issued_url_when_expire_all_then_403_expired_and_new_url_works(storage):
    url = storage.sign("exports/data.bin", ttl_seconds=60)
    storage.expire_all()
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content and b"Request has expired" in response.content
    assert requests.get(storage.sign("exports/data.bin"), timeout=10).status_code == 200


def test_given_expire_next_when_valid_url_then_403_once(storage):
    url = storage.sign("exports/data.bin")
    storage.faults.expire_next()
    assert [requests.get(url, timeout=10).status_code for _ in range(2)] == [403, 200]


def test_given_authorization_header_when_downloading_then_400_and_violation_counted(storage):
    response = requests.get(storage.sign("exports/data.bin"), headers=TOKEN, timeout=10)
    assert response.status_code == 400
    assert b"<Code>InvalidArgument</Code><Message>Only one auth mechanism allowed" in response.content
    assert storage.auth_header_violations == 1


def test_given_tampered_or_unknown_key_when_downloading_then_403_or_404(storage):
    url = storage.sign("exports/data.bin")
    assert b"SignatureDoesNotMatch" in requests.get(url.replace("data.bin", "other.bin"), timeout=10).content
    missing = requests.get(storage.sign("exports/missing.bin"), timeout=10)
    assert missing.status_code == 404 and b"NoSuchKey" in missing.content


def test_given_range_header_when_downloading_then_206_with_content_range(storage):
    response = requests.get(storage.sign("exports/data.bin"), headers={"Range": "bytes=1000-"}, timeout=10)
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-{len(DATA) - 1}/{len(DATA)}"
    assert response.content == DATA[1000:]
    assert storage.downloads[-1].range == "bytes=1000-"


def test_given_range_unsupported_when_range_requested_then_200_full_body(storage):
    storage.supports_range = False
    response = requests.get(storage.sign("exports/data.bin"), headers={"Range": "bytes=1000-"}, timeout=10)
    assert (response.status_code, len(response.content)) == (200, len(DATA))
    assert "Accept-Ranges" not in response.headers


def test_given_cut_after_when_downloading_then_connection_drops_midway_and_resume_works(storage):
    url = storage.sign("exports/data.bin")
    storage.faults.cut_after(100_000)
    received = bytearray()
    response = requests.get(url, stream=True, timeout=10)
    assert response.headers["Content-Length"] == str(len(DATA))
    with pytest.raises(requests.exceptions.RequestException), response:
        for chunk in response.iter_content(8192):
            received += chunk
    assert 0 < len(received) <= 100_000  # the client may hold back the last partial chunk
    resumed = requests.get(url, headers={"Range": f"bytes={len(received)}-"}, timeout=10)
    assert bytes(received) + resumed.content == DATA


def test_given_429_then_503_burst_when_requesting_then_faults_in_order_then_success(storage):
    url = storage.sign("exports/data.bin")
    storage.faults.fail_next(status=429)
    storage.faults.fail_next(status=503, times=2)
    responses = [requests.get(url, timeout=10) for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 503, 503, 200]
    assert responses[0].headers["Retry-After"] == "1"


def test_given_wrong_token_when_calling_cargo_then_401_json(fakes):
    response = requests.get(f"{fakes.cargo.url}/v1/orchestration/plays/list", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert response.json() == {"errorMessage": "Invalid API token", "reason": "unauthorized"}


def test_given_other_workspace_header_when_calling_cargo_then_403_workspace_not_found(fakes):
    headers = {**TOKEN, "selected-workspace-uuid": "3c90c3cc-0d44-4b50-8888-8dd25736052a"}
    response = requests.get(f"{fakes.cargo.url}/v1/orchestration/plays/list", headers=headers, timeout=10)
    assert (response.status_code, response.json()["reason"]) == (403, "workspaceNotFound")


def test_given_runs_when_paging_runs_list_then_every_run_once_in_created_order(fakes):
    seen, offset = [], 0
    while True:
        body = {"workflowUuid": ENRICH_WORKFLOW_UUID, "limit": 100, "offset": offset}
        page = requests.post(f"{fakes.cargo.url}/v1/orchestration/runs/list", headers=TOKEN, json=body).json()
        seen += page["runs"]
        offset += 100
        if offset >= page["count"]:
            break
    assert [run["uuid"] for run in seen] == [run["uuid"] for run in fakes.cargo.runs_for(ENRICH_WORKFLOW_UUID)]
    assert seen == sorted(seen, key=lambda run: (run["createdAt"], run["uuid"]))


def test_given_csv_export_when_downloaded_then_rows_equal_expected_including_tricky_values(fakes):
    response = export(fakes.cargo, workflowUuid=ENRICH_WORKFLOW_UUID, outputNodeSlug="enrich", statuses=["success"])
    text = requests.get(response.json()["url"], timeout=10).content.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows == fakes.cargo.expected_output_rows(ENRICH_WORKFLOW_UUID, "enrich")
    assert any("\r\n" in row["notes"] for row in rows) and any(row["zip_code"] == "00501" for row in rows)


def test_given_json_export_gzipped_when_downloaded_then_array_equals_expected():
    with FakeVendors(cargo={"gzip_outputs": True}) as vendors:
        response = export(vendors.cargo, workflowUuid=SCORE_WORKFLOW_UUID, outputNodeSlug="score", format="json")
        body = requests.get(response.json()["url"], timeout=10).content
        assert body[:2] == b"\x1f\x8b" and ".json.gz?" in response.json()["url"]
        expected = vendors.cargo.expected_output_rows(SCORE_WORKFLOW_UUID, "score", statuses=None, format="json")
        assert json.loads(gzip.decompress(body)) == expected


def test_given_more_runs_than_cap_when_exporting_then_too_many_runs_and_window_split_works(fakes):
    fakes.cargo.max_runs_per_export = 100
    response = export(fakes.cargo, workflowUuid=ENRICH_WORKFLOW_UUID, outputNodeSlug="enrich")
    assert (response.status_code, response.json()["reason"]) == (400, "tooManyRuns")
    middle = fakes.cargo.runs_for(ENRICH_WORKFLOW_UUID)[80]["createdAt"]
    first = export(fakes.cargo, workflowUuid=ENRICH_WORKFLOW_UUID, outputNodeSlug="enrich", createdBefore=middle)
    assert first.status_code == 200


@pytest.mark.parametrize(
    "edges, on_after, on_before",
    [("half-open", True, False), ("inclusive", True, True), ("strict", False, False), ("open-closed", False, True)],
)
def test_given_edge_reading_when_a_run_sits_on_a_time_filter_then_it_matches_as_told_and_the_edge_is_recorded(
    edges, on_after, on_before
):
    with FakeVendors(vendors=["cargo"], cargo={"edges": edges}) as vendors:
        run = vendors.cargo.runs_for(ENRICH_WORKFLOW_UUID, statuses=["success"])[5]
        stamp = run["createdAt"]
        listed = {}
        for name in ("createdAfter", "createdBefore"):
            body = {"workflowUuid": ENRICH_WORKFLOW_UUID, name: stamp, "limit": 100}
            count = requests.post(f"{vendors.cargo.url}/v1/orchestration/runs/list", headers=TOKEN, json=body).json()
            listed[name] = count["count"]
        on_edge = export(vendors.cargo, workflowUuid=ENRICH_WORKFLOW_UUID, outputNodeSlug="enrich",
                         statuses=["success"], createdAfter=stamp, createdBefore=stamp)  # fmt: skip

        all_runs = len(vendors.cargo.runs_for(ENRICH_WORKFLOW_UUID))
        before = len(vendors.cargo.runs_for(ENRICH_WORKFLOW_UUID, created_before=stamp))
        sharing = len([r for r in vendors.cargo.runs_for(ENRICH_WORKFLOW_UUID) if r["createdAt"] == stamp])
        assert listed == {
            "createdAfter": all_runs - before - (0 if on_after else sharing),
            "createdBefore": before + (sharing if on_before else 0),
        }
        assert on_edge.status_code == (200 if on_after and on_before else 404)
        assert vendors.cargo.edges_requested("created") == [stamp]
        assert vendors.cargo.requested_edges[-2:] == [
            ("download-outputs", "createdAfter", stamp),
            ("download-outputs", "createdBefore", stamp),
        ]


def test_given_no_matching_runs_or_bad_body_when_exporting_then_vendor_errors(fakes):
    empty = export(fakes.cargo, workflowUuid=ENRICH_WORKFLOW_UUID, outputNodeSlug="enrich", createdAfter="2100-01-01")
    assert (empty.status_code, empty.json()["reason"]) == (404, "noRunsFound")
    bad_uuid = export(fakes.cargo, workflowUuid="not-a-uuid", outputNodeSlug="enrich")
    assert (bad_uuid.status_code, bad_uuid.json()["reason"]) == (400, "invalidBody")
    no_slug = export(fakes.cargo, workflowUuid=ENRICH_WORKFLOW_UUID)
    assert (no_slug.status_code, no_slug.json()["reason"]) == (400, "invalidBody")


def test_given_api_429_fault_when_exporting_then_retry_after_then_success(fakes):
    fakes.cargo.faults.fail_next(429, path="download-outputs")
    first = export(fakes.cargo, workflowUuid=SCORE_WORKFLOW_UUID, outputNodeSlug="score")
    assert (first.status_code, first.headers["Retry-After"], first.json()["reason"]) == (429, "1", "rateLimited")
    assert export(fakes.cargo, workflowUuid=SCORE_WORKFLOW_UUID, outputNodeSlug="score").status_code == 200


def test_given_running_run_when_finished_then_it_appears_in_success_exports(fakes):
    running = fakes.cargo.runs_for(ENRICH_WORKFLOW_UUID, statuses=["running"])[0]
    assert running["uuid"] not in [
        r["runUuid"] for r in fakes.cargo.expected_output_rows(ENRICH_WORKFLOW_UUID, "enrich")
    ]
    fakes.cargo.finish_run(running["uuid"])
    rows = fakes.cargo.expected_output_rows(ENRICH_WORKFLOW_UUID, "enrich")
    assert running["uuid"] in [row["runUuid"] for row in rows]


SPAAZA_RULE = {"field_name": "timestamp", "operator": "is_between_date"}
SPAAZA_BOUNDS = {"start_date": "2025-01-10T06:00:00Z", "end_date": "2025-01-20T06:00:00Z"}


@pytest.mark.parametrize(
    ("date_bounds", "kept"),
    [
        ("inclusive", ["start", "inside", "end"]),
        ("exclusive", ["inside"]),
        ("start-exclusive", ["inside", "end"]),
        ("end-exclusive", ["start", "inside"]),
        ("day-inclusive", ["start day", "start", "inside", "end", "end day"]),
        ("day-exclusive", ["inside"]),
    ],
)
def test_given_spaaza_date_bounds_when_a_segment_filters_then_rows_on_the_bounds_match_as_told(date_bounds, kept):
    rows = [
        {"id": "before", "timestamp": "2025-01-09T23:59:59Z"},
        {"id": "start day", "timestamp": "2025-01-10T00:00:00Z"},
        {"id": "start", "timestamp": "2025-01-10T06:00:00Z"},
        {"id": "inside", "timestamp": "2025-01-15T00:00:00Z"},
        {"id": "end", "timestamp": "2025-01-20T06:00:00Z"},
        {"id": "end day", "timestamp": "2025-01-20T23:59:59Z"},
        {"id": "after", "timestamp": "2025-01-21T00:00:00Z"},
    ]
    segment = {"rules": [{**SPAAZA_RULE, **SPAAZA_BOUNDS}]}
    assert [row["id"] for row in rows if spaaza_matches(row, segment, date_bounds)] == kept
    before = {"rules": [{"field_name": "timestamp", "operator": "is_before_date", "end_date": "2025-01-20T06:00:00Z"}]}
    open_kept = [row["id"] for row in rows if spaaza_matches(row, before, date_bounds)]
    assert open_kept == ["before", "start day", "start", "inside"] + [k for k in kept if k in ("end", "end day")]


def test_given_an_unknown_spaaza_date_bounds_when_starting_then_refused():
    with FakeStorage() as storage, pytest.raises(ValueError, match="date_bounds must be one of"):
        FakeSpaaza(storage, date_bounds="half-open")
