"""SourceExports: spec, check, discover and read, wired from the vendor registry; no vendor's knowledge is here."""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Iterator, List, Mapping, MutableMapping, Optional, Tuple

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    Status,
    StreamDescriptor,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_exports import fast_read
from source_exports.cdk_seam import SourceSeam
from source_exports.config import CommonConfig
from source_exports.download import limits
from source_exports.errors import ConfigError, ExportsError, to_traced_exception
from source_exports.estimates import with_estimates
from source_exports.redact import redact
from source_exports.schema_policy import SchemaSettings, schema_policy_spec
from source_exports.vendors import VENDORS

DOCS_URL = "https://docs.airbyte.com/integrations/sources/exports"
"""Where Airbyte's docs site publishes `docs/integrations/sources/exports.md` of this repository."""
GENERAL_GROUP = "general"


def config_file_problem(path: str) -> Optional[str]:
    """What makes the config file unusable (unreadable, empty, not JSON, not an object), or None."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        return f"The config file {path} cannot be read ({type(error).__name__})"
    if not text.strip():
        return f"The config file {path} is empty"
    try:
        parsed = json.loads(text)
    except ValueError as error:
        where = f"line {getattr(error, 'lineno', '?')}: {getattr(error, 'msg', error)}"
        return f"The config file {path} is not JSON ({where})"
    if not isinstance(parsed, dict):
        return f"The config file {path} holds a JSON {type(parsed).__name__}, not an object"
    return None


class SourceExports(SourceSeam, AbstractSource):
    """Reads export files and export metadata from Cargo, SourceCraft CI, Spaaza and PostHog."""

    _selection: Optional[Tuple[ConfiguredAirbyteCatalog, Any]] = None
    read_in_batches = False
    """True while the `source-exports` command reads (`ExportsEntrypoint.read` sets it): streams then
    go through the fast read loop (`fast_read`); under the CDK's own entrypoint every row takes its path."""

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        """One card per vendor block (Airbyte's `groups`), each shown open although every block is optional."""
        properties: MutableMapping[str, Any] = {
            "start_date": {
                "type": "string",
                "title": "Start date",
                "description": "Lower bound (UTC, ISO-8601) for the first incremental sync of every stream. "
                "Leave empty to read everything the vendors keep.",
                "format": "date-time",
                "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$",
                "pattern_descriptor": "YYYY-MM-DDTHH:mm:ssZ",
                "examples": ["2025-01-01T00:00:00Z"],
                "order": 0,
                "group": GENERAL_GROUP,
                "always_show": True,
            }
        }
        groups = [{"id": GENERAL_GROUP, "title": "All vendors"}]
        for order, vendor in enumerate(VENDORS, start=1):
            properties[vendor.key] = {**vendor.spec_block(), "order": order, "group": vendor.key, "always_show": True}
            groups.append({"id": vendor.key, "title": vendor.title})
        limits_block = {"order": len(VENDORS) + 1, "group": GENERAL_GROUP, "always_show": True}
        properties["file_limits"] = {**limits.spec_block(), **limits_block}
        for name, field in schema_policy_spec(order=len(VENDORS) + 2).items():
            properties[name] = {**field, "group": GENERAL_GROUP, "always_show": True}
        return ConnectorSpecification(
            documentationUrl=DOCS_URL,
            connectionSpecification={
                "$schema": "http://json-schema.org/draft-07/schema#",
                "title": "Exports Source Spec",
                "description": "Configure one or more vendor blocks; each block is optional, and check needs at "
                "least one.",
                "type": "object",
                "required": [],
                "additionalProperties": True,
                "properties": properties,
                "groups": groups,
            },
            supportsIncremental=True,
        )

    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        """The config with every vendor block upgraded to the spec's current spellings (before validation)."""
        upgraded = dict(config)
        for vendor in VENDORS:
            if isinstance(config.get(vendor.key), Mapping):
                upgraded[vendor.key] = vendor.upgrade_block(config[vendor.key])
        return super().configure(upgraded, temp_dir)

    @staticmethod
    def read_config(config_path: str) -> MutableMapping[str, Any]:
        """The CDK's config reader, with a config error saying what is wrong with the file and what to do."""
        problem = config_file_problem(config_path)
        if problem:
            raise to_traced_exception(
                ConfigError(
                    problem,
                    field="--config",
                    hint="The config must be one JSON object with a block per vendor, e.g. "
                    '{"cargo": {"api_token": "..."}}; run `spec` to see every field',
                )
            )
        return AbstractSource.read_config(config_path)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """The CDK's check, without the `repr()` quotes it puts around the failure message."""
        succeeded, message = self.check_connection(logger, config)
        if succeeded:
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(message))

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        """The CDK's discover, with schema-sampling failures classified like read failures."""
        try:
            return super().discover(logger, config)
        except Exception as error:
            raise to_traced_exception(error) from error

    def check_connection(self, logger: logging.Logger, config: Mapping[str, Any]) -> Tuple[bool, Optional[Any]]:
        """Check every configured vendor block and report each one that fails."""
        try:
            common = CommonConfig.from_config(config)
            limits.configure(limits.FileLimits.from_config(config))
            SchemaSettings.from_config(config)
            present = self._present_vendors(config)
        except ExportsError as error:
            return False, error.user_message
        failures = []
        for vendor in present:
            try:
                vendor.check(config[vendor.key], common, logger)
                logger.info(f"{vendor.title}: connection OK")
            except ExportsError as error:
                failures.append(f"{vendor.title}: {error.user_message}")
            except Exception as error:  # a bug must still come out as a FAILED status, not a crash
                failures.append(redact(f"{vendor.title}: unexpected error {type(error).__name__}: {error}"))
        if failures:
            return False, "; ".join(failures)
        return True, None

    def read(
        self, logger: logging.Logger, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog, state: Any = None
    ) -> Iterator[AirbyteMessage]:
        """The CDK's read; streams with a `plan_read(catalog, state)` hook learn the selected streams first.

        A hook returns a `close` run when the read ends (e.g. to stop work started ahead).
        """
        self._selection = catalog, state
        self._closers: List[Callable[[], None]] = []
        try:
            yield from super().read(logger, config, catalog, state)
        finally:
            self._selection = None
            for close in self._closers:
                close()

    def streams(self, config: Mapping[str, Any]) -> List[Stream]:
        try:
            common = CommonConfig.from_config(config)
            limits.configure(limits.FileLimits.from_config(config))
            schema_settings = SchemaSettings.from_config(config)
            streams: List[Stream] = []
            for vendor in self._present_vendors(config):
                streams.extend(vendor.streams(config[vendor.key], common))
            for stream in streams:
                stream.schema_settings = schema_settings
                stream.check_schema_settings()
        except ExportsError as error:
            raise to_traced_exception(error) from error
        self._refuse_duplicate_names(streams)
        if self._selection is not None:
            for stream in streams:
                plan_read = getattr(stream, "plan_read", None)
                if plan_read is not None:
                    self._closers.append(plan_read(*self._selection))
        return streams

    def read_stream_messages(self, stock, logger, stream_instance, configured_stream, state_manager, internal_config):  # noqa: ANN001
        """Under `ExportsEntrypoint` rows travel in batches (see `fast_read`); otherwise the CDK's path, `stock()`.

        Either way the stream's ESTIMATE traces go out in order with its records.
        """
        if self.read_in_batches:
            messages = fast_read.read_stream(
                self, logger, stream_instance, configured_stream, state_manager, internal_config
            )
        else:
            messages = stock()
        return with_estimates(messages, getattr(stream_instance, "estimate", None))

    @staticmethod
    def traced_exception(error: Exception, stream_descriptor: StreamDescriptor) -> AirbyteTracedException:
        """The one boundary where our errors become Airbyte failures with a classified type."""
        return to_traced_exception(error, stream_descriptor)

    @staticmethod
    def _present_vendors(config: Mapping[str, Any]) -> list:
        present = [vendor for vendor in VENDORS if config.get(vendor.key)]
        if not present:
            keys = ", ".join(vendor.key for vendor in VENDORS)
            raise ConfigError("No vendor is configured", hint=f"Add at least one of these blocks to the config: {keys}")
        return present

    @staticmethod
    def _refuse_duplicate_names(streams: List[Stream]) -> None:
        seen: set = set()
        for stream in streams:
            if stream.name in seen:
                raise to_traced_exception(
                    ConfigError(
                        f"Two streams are named '{stream.name}'",
                        field="run_outputs[].name",
                        hint="Give every configured export a unique name",
                    )
                )
            seen.add(stream.name)
