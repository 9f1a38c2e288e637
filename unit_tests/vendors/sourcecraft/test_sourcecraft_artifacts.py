"""Artifacts: tree walking, path globs, record shape, and re-minting download URLs."""

from __future__ import annotations

import pytest
import requests

from source_exports.errors import DownloadError
from source_exports.vendors.sourcecraft.artifacts import Artifact, Cube, iter_cubes, matches_paths
from source_exports.vendors.sourcecraft.client import SourceCraftClient
from unit_tests.vendors.sourcecraft.builders import RunBuilder, artifact

API = "https://api.sourcecraft.test"
CUBE = Cube("7", "test", "unit", "pytest")
LIST_URL = f"{API}/repos/o/r/cicd/artifacts/7/test/unit/pytest"


def test_given_run_tree_when_walking_then_every_cube_and_workflow_filter_applies():
    run = (
        RunBuilder("7")
        .with_workflow("build", {"compile": ["make", "pack"]})
        .with_workflow("test", {"unit": ["pytest"], "lint": []})
        .build()
    )
    assert [cube.path for cube in iter_cubes(run)] == [
        "7/build/compile/make",
        "7/build/compile/pack",
        "7/test/unit/pytest",
    ]
    assert [cube.path for cube in iter_cubes(run, ["test"])] == ["7/test/unit/pytest"]
    assert list(iter_cubes({"slug": "8", "workflows": None})) == []


@pytest.mark.parametrize(
    "path, patterns, expected",
    [
        ("reports/junit.xml", ["reports/**/*.xml"], True),
        ("reports/a/b/junit.xml", ["reports/**/*.xml"], True),
        ("reports/junit.json", ["reports/**/*.xml"], False),
        ("other/reports/junit.xml", ["reports/**/*.xml"], False),
        ("metrics/a/size.json", ["metrics/*.json"], False),
        ("metrics/size.json", ["metrics/*.json", "x"], True),
        ("/reports/junit.xml", ["reports/*.xml"], True),
        ("anything", [], True),
    ],
)
def test_given_glob_patterns_when_matching_local_path_then_star_stays_in_folder_and_globstar_spans(
    path, patterns, expected
):
    assert matches_paths(path, patterns) is expected


def test_given_artifact_when_made_a_record_then_download_url_is_gone_and_cube_slugs_added():
    record = Artifact(CUBE, artifact("a1", "reports/junit.xml")).record()
    assert "download_url" not in record
    assert record["run_slug"] == "7" and record["workflow_slug"] == "test"
    assert record["task_slug"] == "unit" and record["cube_slug"] == "pytest"
    assert record["id"] == "a1" and record["dates"]["updated_at"] == "2099-01-01T00:00:00Z"


def test_given_expired_url_when_minting_again_then_cube_is_listed_again_and_artifact_picked_by_id(requests_mock):
    client = SourceCraftClient(API, "t", "o", "r", session=requests.Session())
    requests_mock.get(
        LIST_URL,
        json={
            "artifacts": [
                artifact("other", "x", url="https://s/other?sig=1"),
                artifact("a1", "y", url="https://s/fresh?sig=2"),
            ]
        },
    )
    mint = Artifact(CUBE, artifact("a1", "y", url="https://s/first?sig=0")).minter(client)
    assert mint() == "https://s/first?sig=0"
    assert requests_mock.call_count == 0
    assert mint() == "https://s/fresh?sig=2"
    assert requests_mock.call_count == 1


def test_given_artifact_gone_from_listing_when_minting_then_download_error_names_artifact(requests_mock):
    client = SourceCraftClient(API, "t", "o", "r", session=requests.Session())
    requests_mock.get(LIST_URL, json={"artifacts": []})
    mint = Artifact(CUBE, artifact("a1", "reports/junit.xml", url="")).minter(client)
    with pytest.raises(DownloadError, match="no download URL") as raised:
        mint()
    assert "file: 7/test/unit/pytest/reports/junit.xml" in str(raised.value)
