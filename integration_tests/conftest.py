"""Fixtures shared by the end-to-end tests: the fake vendor servers and generated configs."""

from pathlib import Path
from typing import Iterator

import pytest

from integration_tests.fake_servers import FakeVendors
from integration_tests.standard_configs import write_standard_configs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def fake_vendors() -> Iterator[FakeVendors]:
    """Every fake vendor server, started once for the session."""
    with FakeVendors() as fakes:
        yield fakes


@pytest.fixture(scope="session", autouse=True)
def standard_test_configs(fake_vendors: FakeVendors) -> None:
    """Write the configs acceptance-test-config.yml names: a good one and one with bad tokens."""
    write_standard_configs(fake_vendors, ROOT)
