"""The configs `acceptance-test-config.yml` names, written for running fake vendor servers.

`secrets/config.json` points at the fakes; `secrets/invalid_config.json` is the same with every
vendor secret wrong. Used by the pytest session fixture and by `make connector-test`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from integration_tests.fake_servers import FakeVendors

SECRET_KEYS = ("api_token", "api_key", "access_token_secret")


def write_standard_configs(fakes: FakeVendors, connector_root: Path) -> None:
    """Write `<connector_root>/secrets/config.json` and `invalid_config.json` for these fakes."""
    secrets = connector_root / "secrets"
    secrets.mkdir(exist_ok=True)
    config = fakes.config()
    (secrets / "config.json").write_text(json.dumps(config, indent=2))
    invalid = copy.deepcopy(config)
    for block in invalid.values():
        if isinstance(block, dict):
            for key in SECRET_KEYS:
                if key in block:
                    block[key] = "wrong-token"
    (secrets / "invalid_config.json").write_text(json.dumps(invalid, indent=2))
