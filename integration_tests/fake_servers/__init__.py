"""Fake vendor servers on 127.0.0.1 for end-to-end tests, the demo and the benchmark (see README.md)."""

from integration_tests.fake_servers.base import FakeServer, Faults, Request, Response
from integration_tests.fake_servers.cargo import FakeCargo
from integration_tests.fake_servers.cargo_dataset import ENRICH_WORKFLOW_UUID, SCORE_WORKFLOW_UUID, WORKSPACE_UUID
from integration_tests.fake_servers.storage import FakeStorage
from integration_tests.fake_servers.vendors import VENDOR_FAKES, FakeVendors

__all__ = [
    "ENRICH_WORKFLOW_UUID",
    "SCORE_WORKFLOW_UUID",
    "VENDOR_FAKES",
    "WORKSPACE_UUID",
    "FakeCargo",
    "FakeServer",
    "FakeStorage",
    "FakeVendors",
    "Faults",
    "Request",
    "Response",
]
