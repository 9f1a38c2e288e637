"""Typed, validated view of the `spaaza` config block; every error names the field to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Tuple

from source_exports.config import require_bool, require_choice, require_number, require_string, require_url
from source_exports.errors import ConfigError

PREFIX = "spaaza"
EXPORT_INDEXES: Tuple[str, ...] = ("transactions", "users", "vouchers", "wallet-ledger", "products", "product-variants")
EXPORT_FORMATS: Tuple[str, ...] = ("csv", "json")

# The date field Spaaza's segment rules filter each index on, as Spaaza documents them; others have none.
DATE_FIELDS = {"transactions": "timestamp", "wallet-ledger": "timestamp", "vouchers": "date_time_redeemed"}

DEFAULT_JOB_TIMEOUT_MINUTES = 30.0
DEFAULT_POLL_INTERVAL_SECONDS = 5.0
DEFAULT_WINDOW_DAYS = 30
MAX_JOB_TIMEOUT_MINUTES = 1440.0
MAX_POLL_INTERVAL_SECONDS = 600.0
MAX_WINDOW_DAYS = 3660
DEFAULT_EXPORT_CONCURRENCY = 3
MAX_EXPORT_CONCURRENCY = 10
MAX_CHAIN_ID = 2**53 - 1
"""The largest integer a JSON number carries exactly everywhere: a larger chain ID is a typo."""


@dataclass(frozen=True)
class SpaazaConfig:
    """The `spaaza` block after validation.

    >>> SpaazaConfig.from_block({"services_api_url": "https://s.example", "access_token_id": "i",
    ...     "access_token_secret": "s", "chain_id": 7}).exports[0]
    'transactions'
    """

    services_api_url: str
    access_token_id: str
    access_token_secret: str
    chain_id: int
    exports: Tuple[str, ...] = EXPORT_INDEXES
    create_exports: bool = False
    export_format: str = "csv"
    job_timeout_seconds: float = DEFAULT_JOB_TIMEOUT_MINUTES * 60
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS
    window_days: int = DEFAULT_WINDOW_DAYS
    export_concurrency: int = DEFAULT_EXPORT_CONCURRENCY

    @classmethod
    def from_block(cls, block: Mapping[str, Any]) -> SpaazaConfig:
        if not isinstance(block, Mapping):
            raise ConfigError("must be an object", field=PREFIX)
        url = require_string(block, "services_api_url", PREFIX)
        file_format = block.get("export_format") or "csv"
        return cls(
            services_api_url=require_url(url, f"{PREFIX}.services_api_url"),
            access_token_id=require_string(block, "access_token_id", PREFIX),
            access_token_secret=require_string(block, "access_token_secret", PREFIX),
            chain_id=parse_chain_id(block.get("chain_id")),
            exports=parse_exports(block.get("exports")),
            create_exports=require_bool(block.get("create_exports", False), f"{PREFIX}.create_exports"),
            export_format=require_choice(file_format, EXPORT_FORMATS, f"{PREFIX}.export_format"),
            job_timeout_seconds=60
            * parse_positive(block, "job_timeout_minutes", DEFAULT_JOB_TIMEOUT_MINUTES, MAX_JOB_TIMEOUT_MINUTES),
            poll_interval_seconds=parse_positive(
                block, "poll_interval_seconds", DEFAULT_POLL_INTERVAL_SECONDS, MAX_POLL_INTERVAL_SECONDS
            ),
            window_days=int(parse_positive(block, "window_days", DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, integer=True)),
            export_concurrency=int(
                require_number(
                    block, "export_concurrency", PREFIX, DEFAULT_EXPORT_CONCURRENCY, 1, MAX_EXPORT_CONCURRENCY, True
                )
            ),
        )

    @property
    def authorization(self) -> str:
        """The header value Spaaza's privileged authentication expects."""
        return f"Bearer {self.access_token_id}:{self.access_token_secret}"


def stream_name_of(index: str) -> str:
    """`wallet-ledger` → `spaaza_wallet_ledger`: stream names are table names."""
    return f"spaaza_{index.replace('-', '_')}"


def parse_chain_id(value: Any) -> int:
    """A positive integer; a string of digits is accepted too (UIs often send one)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 < value <= MAX_CHAIN_ID:
        raise ConfigError(
            f"'{value}' is not a chain ID",
            field=f"{PREFIX}.chain_id",
            hint="Use your numeric Spaaza chain ID (a positive integer, shown in Spaaza's console)",
        )
    return value


def parse_exports(value: Any) -> Tuple[str, ...]:
    """The configured export indexes, in order; unknown or repeated names are config errors."""
    if value is None:
        return EXPORT_INDEXES
    if not isinstance(value, (list, tuple)):
        raise ConfigError("must be a list of export index names", field=f"{PREFIX}.exports")
    chosen = []
    for position, name in enumerate(value):
        field = f"{PREFIX}.exports[{position}]"
        index = require_choice(name, EXPORT_INDEXES, field)
        if index in chosen:
            raise ConfigError(f"'{index}' is listed twice", field=field, hint="List each export index once")
        chosen.append(index)
    return tuple(chosen)


def parse_positive(block: Mapping[str, Any], key: str, default: float, maximum: float, integer: bool = False) -> float:
    """An optional positive number (integer when asked) up to `maximum`, else `default`."""
    return float(require_number(block, key, PREFIX, default, 0, maximum, integer, exclusive_minimum=True))
