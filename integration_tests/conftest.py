"""Fixtures shared by the end-to-end tests: the fake vendor servers and generated configs."""

import copy
import json
from pathlib import Path
from typing import Iterator

import pytest

from integration_tests.fake_servers import FakeVendors

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fake_vendors() -> Iterator[FakeVendors]:
    """Every fake vendor server, started once for the session."""
    with FakeVendors() as fakes:
        yield fakes


@pytest.fixture(scope="session", autouse=True)
def standard_test_configs(fake_vendors: FakeVendors) -> None:
    """Write the configs acceptance-test-config.yml names: a good one and one with bad tokens."""
    secrets = ROOT / "secrets"
    secrets.mkdir(exist_ok=True)
    config = fake_vendors.config()
    (secrets / "config.json").write_text(json.dumps(config, indent=2))
    invalid = copy.deepcopy(config)
    for block in invalid.values():
        if isinstance(block, dict):
            for key in ("api_token", "api_key", "access_token_secret"):
                if key in block:
                    block[key] = "wrong-token"
    (secrets / "invalid_config.json").write_text(json.dumps(invalid, indent=2))
