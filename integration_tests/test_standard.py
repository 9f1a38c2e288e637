"""The CDK's standard source test suite, run against the fake vendor servers."""

from pathlib import Path

from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from source_exports import SourceExports

ROOT = Path(__file__).resolve().parents[1]


class TestSourceExportsStandard(SourceTestSuiteBase):
    """spec, check (good and bad token), discover, basic and full-refresh reads."""

    connector = SourceExports

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return ROOT
