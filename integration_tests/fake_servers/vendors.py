"""`FakeVendors`: one `FakeStorage` plus every vendor fake, and the connector config that points at them.

Used by the end-to-end tests, the demo (`python -m integration_tests.fake_servers`) and the
benchmark. Adding a vendor fake is one entry in `VENDOR_FAKES`: a class taking the shared
storage (plus keyword options) with a `config_key` attribute and a `config_block()` method
returning that vendor's block of the config contract (design.md §2).

    with FakeVendors(cargo={"max_runs_per_export": 50}) as fakes:
        config = fakes.config()
        rows = fakes.cargo.expected_output_rows(...)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional

from integration_tests.fake_servers.base import FakeServer
from integration_tests.fake_servers.cargo import FakeCargo
from integration_tests.fake_servers.cargo_dataset import default_now as utc_now
from integration_tests.fake_servers.posthog import FakePostHog
from integration_tests.fake_servers.sourcecraft import FakeSourceCraft
from integration_tests.fake_servers.spaaza import FakeSpaaza
from integration_tests.fake_servers.storage import FakeStorage

# config key -> factory(storage, **options), in the spec's vendor order.
VENDOR_FAKES: Dict[str, Callable[..., FakeServer]] = {
    "cargo": FakeCargo,
    "sourcecraft": FakeSourceCraft,
    "spaaza": FakeSpaaza,
    "posthog": FakePostHog,
}


class FakeVendors:
    """Starts storage and the chosen vendor fakes (all by default); `fakes.cargo` etc. reach each one.

    Keyword arguments named after a vendor pass options to its fake (`cargo={"gzip_outputs": True}`);
    `storage` passes options to `FakeStorage` (`storage={"supports_range": False}`).
    """

    def __init__(
        self,
        vendors: Optional[List[str]] = None,
        storage: Optional[Dict[str, Any]] = None,
        **vendor_options: Dict[str, Any],
    ) -> None:
        unknown = (set(vendors or []) | set(vendor_options)) - set(VENDOR_FAKES)
        if unknown:
            raise ValueError(f"Unknown vendor fakes {sorted(unknown)}; known: {sorted(VENDOR_FAKES)}")
        self.storage = FakeStorage(**(storage or {}))
        self.fakes: Dict[str, FakeServer] = {
            key: VENDOR_FAKES[key](self.storage, **vendor_options.get(key, {})) for key in (vendors or VENDOR_FAKES)
        }

    def __getattr__(self, name: str) -> FakeServer:
        fakes = self.__dict__.get("fakes", {})
        if name in fakes:
            return fakes[name]
        raise AttributeError(name)

    def start(self) -> FakeVendors:
        self.storage.start()
        for fake in self.fakes.values():
            fake.start()
        return self

    def stop(self) -> None:
        for fake in self.fakes.values():
            fake.stop()
        self.storage.stop()

    def __enter__(self) -> FakeVendors:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def config(self, start_date: Optional[str] = None) -> Dict[str, Any]:
        """A complete connector config for every running fake; `start_date` defaults to before all data."""
        if start_date is None:  # 90 days before the earliest fake clock: older than every generated item
            clocks = [fake.clock for fake in self.fakes.values() if hasattr(fake, "clock")]
            midnight = (min(clocks, default=None) or utc_now()) - timedelta(days=90)
            start_date = midnight.strftime("%Y-%m-%dT00:00:00Z")
        config: Dict[str, Any] = {"start_date": start_date}
        for key, fake in self.fakes.items():
            config[key] = fake.config_block()
        return config

    def urls(self) -> Dict[str, str]:
        return {"storage": self.storage.url, **{key: fake.url for key, fake in self.fakes.items()}}
