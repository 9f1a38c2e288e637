"""The vendor contract (`source_exports/vendors/README.md`) holds for every vendor package.

The tests read the README's tables and sentences and check each against the packages, so a change
to the contract or to a package alone fails here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import logging
import pkgutil
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import requests
import requests_mock as rm
from airbyte_cdk.models import FailureType

from source_exports import errors as shared_errors
from source_exports.config import CommonConfig
from source_exports.errors import ExportsError, error_for_status, to_traced_exception
from source_exports.http import retry_policy
from source_exports.streams import ExportsStream, IncrementalExportsStream
from source_exports.vendor_client import VendorClient
from source_exports.vendors import VENDORS
from source_exports.vendors.base import Vendor

ROOT = Path(__file__).resolve().parents[1]
VENDORS_DIR = ROOT / "source_exports" / "vendors"
README = (VENDORS_DIR / "README.md").read_text()

BLOCKS: Dict[str, Dict[str, Any]] = {
    "cargo": {
        "api_token": "token",
        "api_url": "https://api.cargo.test/v1",
        "run_outputs": [
            {"name": "leads", "workflow_uuid": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "output_node_slug": "enrich"}
        ],
    },
    "sourcecraft": {"api_token": "token", "api_url": "https://api.sourcecraft.test", "org_slug": "o", "repo_slug": "r"},
    "spaaza": {
        "services_api_url": "https://services.spaaza.test",
        "access_token_id": "id",
        "access_token_secret": "secret",
        "chain_id": 1,
        "create_exports": True,
    },
    "posthog": {
        "api_key": "phx_key",
        "api_url": "https://posthog.test",
        "environment_id": "1",
        "file_download": {"models": ["events", "persons", "sessions"]},
    },
}
"""A block per vendor that turns on every stream it has (no network is needed to build them)."""
UNNAMED_STATUSES = (402, 418, 451, 599)
"""Statuses no vendor's rules name: each classifier's last line decides them."""


# reading the README
def section(title: str) -> str:
    """The text of the `## title` section, up to the next one."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, flags=re.M | re.S)
    assert match, f"vendors/README.md has no section '{title}'"
    return match.group(1)


def table(text: str, first_header: str) -> List[Dict[str, str]]:
    """The rows of the Markdown table whose first header is `first_header`, as header → cell."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^\|\s*{re.escape(first_header)}\s*\|", line))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(headers, (cell.strip() for cell in line.strip().strip("|").split("|")))))
    return rows


def ticks(text: str) -> List[str]:
    return re.findall(r"`([^`]+)`", text)


def paragraph(starting: str) -> str:
    match = re.search(rf"^{re.escape(starting)}.*?(?=\n\n|\Z)", README, flags=re.M | re.S)
    assert match, f"vendors/README.md has no paragraph starting '{starting}'"
    return match.group(0)


def named_per_vendor(cell: str) -> Dict[str, Set[str]]:
    """`Cargo's `a`, `b`` in a cell → {"Cargo": {"a", "b"}}."""
    found: Dict[str, Set[str]] = {}
    for vendor, names in re.findall(r"(\w+)'s ((?:`[^`]+`(?:\s*[,/]\s*)?)+)", cell):
        found.setdefault(vendor, set()).update(ticks(names))
    return found


# reading the packages
def packages() -> List[Path]:
    return sorted(path.parent for path in VENDORS_DIR.glob("*/__init__.py"))


def package_name(path: Path) -> str:
    return f"source_exports.vendors.{path.name}"


def modules(path: Path) -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules([str(path)]):
        yield importlib.import_module(f"{package_name(path)}.{info.name}")


def defined(module: ModuleType, base: type) -> List[type]:
    """The subclasses of `base` defined in `module` itself (not imported into it)."""
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, base)
        and value is not base
        and value.__module__ == module.__name__
    ]


def syntax(module: ModuleType) -> ast.Module:
    return ast.parse(Path(module.__file__).read_text())


def client_class(path: Path) -> type:
    (found,) = defined(importlib.import_module(f"{package_name(path)}.client"), VendorClient)
    return found


def bare_client(cls: type) -> VendorClient:
    """A client with the shared sessions its class asks for, without a vendor config."""
    client = cls.__new__(cls)
    VendorClient.__init__(client)
    return client


def title_of(path: Path) -> str:
    return importlib.import_module(package_name(path)).VENDOR.title


def streams_of(vendor: Vendor) -> List[Any]:
    return vendor.streams(BLOCKS[vendor.key], CommonConfig(None))


PACKAGES = packages()
IDS = [path.name for path in PACKAGES]


def test_given_the_registry_when_listing_vendor_packages_then_every_package_is_registered_and_has_test_blocks():
    assert sorted(vendor.key for vendor in VENDORS) == IDS
    assert sorted(BLOCKS) == IDS


# files of a package
def test_given_the_files_table_when_checking_packages_then_each_module_is_where_the_table_says():
    rows = table(section("Files of a package"), "module")
    assert rows
    for row in rows:
        (module,) = ticks(row["module"])
        present = [path.name for path in PACKAGES if (path / module).exists()]
        if row["in"] == "every package":
            assert present == IDS, f"{module}: missing in {sorted(set(IDS) - set(present))}"
        elif row["in"] == "where there is one":
            assert present, f"{module} is in no package: drop its row"
        else:
            pytest.fail(f"{module}: unknown 'in' value {row['in']!r}")


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_package_when_reading_client_py_then_it_defines_the_one_vendor_client(path):
    owners = {module.__name__: defined(module, VendorClient) for module in modules(path)}
    assert len(owners.pop(f"{package_name(path)}.client")) == 1
    assert not any(owners.values()), f"VendorClient subclasses outside client.py: {owners}"


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_package_when_reading_modules_other_than_the_client_then_none_talks_http(path):
    (row,) = [row for row in table(section("Files of a package"), "module") if ticks(row["module"]) == ["client.py"]]
    allowed = {name.split(".", 1)[1] for name in ticks(row["responsibility"]) if name.startswith("requests.")}
    assert allowed, "the client.py row names what other modules may take from requests"
    forbidden_modules = ("urllib.request", "http.client", "httpx", "urllib3", "aiohttp", "socket")
    for module in modules(path):
        if module.__name__.endswith(".client"):
            continue
        for node in ast.walk(syntax(module)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.module == "requests" or (node.module or "").startswith("requests."):
                    assert {alias.name for alias in node.names} <= allowed, f"{module.__name__} imports from requests"
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "requests":
                assert node.attr in allowed, f"{module.__name__} uses requests.{node.attr}"
                continue
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden_modules), f"{module.__name__} imports {name}"


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_package_when_reading_vendor_py_then_its_one_vendor_is_the_registered_one(path):
    owners = {module.__name__: defined(module, Vendor) for module in modules(path)}
    (vendor_class,) = owners.pop(f"{package_name(path)}.vendor")
    assert not any(owners.values()), f"Vendor subclasses outside vendor.py: {owners}"
    exposed = importlib.import_module(package_name(path)).VENDOR
    assert type(exposed) is vendor_class
    assert any(vendor is exposed for vendor in VENDORS)
    assert exposed.key == path.name


@pytest.mark.parametrize("vendor", VENDORS, ids=[vendor.key for vendor in VENDORS])
def test_given_a_vendor_when_building_every_stream_then_each_is_an_exports_stream_of_its_streams_py(vendor):
    """Each is an `ExportsStream` of its package's streams.py, and an incremental one an `IncrementalExportsStream`."""
    streams = streams_of(vendor)
    assert streams
    for stream in streams:
        assert isinstance(stream, ExportsStream), stream.name
        assert type(stream).__module__ == f"source_exports.vendors.{vendor.key}.streams", stream.name
        assert stream.supports_incremental == isinstance(stream, IncrementalExportsStream), stream.name


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_client_module_when_reading_it_then_it_plans_no_time_windows(path):
    """Time windows are planned outside the clients: no client module imports or defines window logic."""
    module = importlib.import_module(f"{package_name(path)}.client")
    for node in ast.walk(syntax(module)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            assert not any("window" in name.lower() for name in names), f"{module.__name__} imports {names}"
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            assert "window" not in node.name.lower(), f"{module.__name__} defines {node.name}"


# fixed schemas
def test_given_fixed_schemas_when_building_every_stream_then_each_fixed_stream_ships_one_and_no_file_is_spare():
    (pattern,) = [name for name in ticks(section("Fixed schemas")) if "<stream name>" in name]
    folder = ROOT / pattern.rsplit("/", 1)[0]
    fixed = {}
    for vendor in VENDORS:
        for stream in streams_of(vendor):
            if not stream.discovered_schema:
                fixed[stream.name] = stream
    shipped = {path.name for path in folder.glob("*.json")}
    assert shipped == {pattern.rsplit("/", 1)[1].replace("<stream name>", name) for name in fixed}
    for name, stream in fixed.items():
        file_schema = json.loads((folder / f"{name}.json").read_text())
        assert set(stream.get_json_schema()["properties"]) == set(file_schema["properties"]), name


# the client contract
def client_rows() -> Dict[str, str]:
    rows = table(section("The client contract"), "member")
    return {name.split("(")[0]: row["what the vendor gives"] for row in rows for name in ticks(row["member"])}


def test_given_the_client_table_when_checking_vendor_client_then_each_member_is_a_hook_of_the_base():
    for member in client_rows():
        assert hasattr(VendorClient, member), member


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_client_when_reading_what_it_overrides_then_only_the_members_of_the_table(path):
    cls = client_class(path)
    overridden = {name for name in vars(cls) if name in vars(VendorClient) and not name.startswith("__")}
    extra = overridden - set(client_rows())
    assert not extra, f"{cls.__name__} replaces shared plumbing: {extra}"


def test_given_the_default_retry_methods_when_building_the_policy_then_get_and_head_only():
    assert VendorClient.retried_methods is None
    assert set(retry_policy(methods=None).allowed_methods) == {"GET", "HEAD"}


def post_paths(cls: type) -> Set[str]:
    """The path literals of every `"POST"` request the client's module sends."""
    found = set()
    for node in ast.walk(ast.parse(Path(inspect.getfile(cls)).read_text())):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            method, path = node.args[0], node.args[1]
            if isinstance(method, ast.Constant) and method.value == "POST":
                found.add(path.value if isinstance(path, ast.Constant) else ast.unparse(path))
    return found


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_client_when_building_its_retry_policy_then_a_post_only_where_the_readme_names_read_only_queries(path):
    cls = client_class(path)
    read_only = named_per_vendor(client_rows()["retried_methods"])
    allowed = set(bare_client(cls).session.get_adapter("https://").max_retries.allowed_methods)
    assert allowed - {"GET", "HEAD"} <= {"POST"}
    title = title_of(path)
    if "POST" not in allowed:
        assert title not in read_only, f"the README names {title}'s read-only POSTs, but its client retries none"
        return
    assert title in read_only, f"{cls.__name__} retries POST, but the README names no read-only query of {title}"
    sent = post_paths(cls)
    assert sent
    for sent_path in sent:
        assert any(sent_path.endswith(name) for name in read_only[title]), f"{sent_path} is not a documented query"


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_client_that_creates_jobs_when_building_it_then_its_create_session_never_retries_an_ambiguous_failure(
    path,
):
    cls = client_class(path)
    creators = named_per_vendor(client_rows()["creates"])
    client = bare_client(cls)
    assert cls.creates == (title_of(path) in creators)
    if not cls.creates:
        assert client.create_session is client.session
        return
    for method in creators[title_of(path)]:
        assert callable(getattr(cls, method)), method
    policy = client.create_session.get_adapter("https://").max_retries
    assert policy.read == 0
    assert set(policy.status_forcelist) == {429}


# paginators
def paginator_module() -> ModuleType:
    line = next(line for line in README.splitlines() if line.startswith("Paginators ("))
    (path,) = [name for name in ticks(line) if name.endswith(".py")]
    return importlib.import_module(path[: -len(".py")].replace("/", "."))


def importers(module_name: str, name: str) -> Set[str]:
    """The titles of the vendors whose package imports `name` from `module_name`."""
    users = set()
    for path in PACKAGES:
        for module in modules(path):
            for node in ast.walk(syntax(module)):
                imported = isinstance(node, ast.ImportFrom) and node.module == module_name
                if imported and name in {alias.name for alias in node.names}:
                    users.add(title_of(path))
    return users


def test_given_the_paginator_table_when_checking_the_module_then_every_paginator_is_listed_with_its_users():
    module = paginator_module()
    rows = table(README, "paginator")
    listed = {ticks(row["paginator"])[0]: row["used by"] for row in rows}
    assert set(listed) == {
        cls.__name__ for cls in vars(module).values() if inspect.isclass(cls) and cls.__module__ == module.__name__
    }
    titles = {title_of(path) for path in PACKAGES}
    for name, used_by in listed.items():
        named = {title for title in titles if re.search(rf"\b{title}\b", used_by)}
        assert named == importers(module.__name__, name), f"{name}: 'used by' says {sorted(named)}"


# failure types
def error_class(expression: str) -> Tuple[type, Dict[str, Any]]:
    """`VendorJobFailed(account=True)` → (VendorJobFailed, {"account": True})."""
    node = ast.parse(expression, mode="eval").body
    if isinstance(node, ast.Call):
        return getattr(shared_errors, node.func.id), {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    return getattr(shared_errors, node.id), {}


def statuses_in(situation: str) -> List[int]:
    numbers = [int(number) for number in re.findall(r"\b([1-5]\d\d)\b", situation)]
    return numbers + (list(range(500, 600)) if "5xx" in situation else [])


def failure_rows() -> List[Dict[str, str]]:
    return table(section("Failure types"), "situation")


def test_given_the_failure_table_when_raising_each_error_then_its_failure_type_is_the_tables():
    rows = failure_rows()
    assert rows
    for row in rows:
        (failure,) = ticks(row["failure type"])
        names = ticks(row["error"])
        if not names:  # "(unexpected)"
            error: BaseException = RuntimeError("boom")
        else:
            cls, kwargs = error_class(names[-1])
            error = cls("message", **kwargs)
            if "error_for_status(status)" in names:
                statuses = statuses_in(row["situation"])
                assert statuses, row["situation"]
                assert {error_for_status(status) for status in statuses} == {cls}, row["situation"]
        assert to_traced_exception(error).failure_type == FailureType[failure], row["situation"]


def status_cases() -> List[Tuple[int, FailureType]]:
    cases = []
    for row in failure_rows():
        if "error_for_status(status)" in ticks(row["error"]):
            cases += [(status, FailureType[ticks(row["failure type"])[0]]) for status in statuses_in(row["situation"])]
    return [case for case in cases if case[0] < 500 or case[0] in (500, 503)]


@pytest.mark.parametrize("vendor", VENDORS, ids=[vendor.key for vendor in VENDORS])
def test_given_each_status_of_the_failure_table_when_checking_then_the_vendor_raises_the_tables_error(vendor):
    for status, failure in status_cases():
        error = checked_with(vendor, status)
        assert isinstance(error, error_for_status(status)), (status, error)
        assert to_traced_exception(error).failure_type == failure, status


@pytest.mark.parametrize("vendor", VENDORS, ids=[vendor.key for vendor in VENDORS])
def test_given_a_status_no_rule_names_when_checking_then_the_classifier_ends_in_error_for_status(vendor):
    for status in UNNAMED_STATUSES:
        assert type(checked_with(vendor, status)) is error_for_status(status), status


def checked_with(vendor: Vendor, status: int = 200, **answer: Any) -> ExportsError:
    """The error `check` raises when the vendor answers every request so (`status` and a plain body by default)."""
    with rm.Mocker() as mock:
        mock.register_uri(rm.ANY, rm.ANY, **(answer or {"status_code": status, "json": {"message": "no"}}))
        with pytest.raises(ExportsError) as caught:
            vendor.check(BLOCKS[vendor.key], CommonConfig(None), logging.getLogger("test"))
    return caught.value


def failure_of(class_name: str) -> FailureType:
    """The failure type of the table's row whose error is exactly `class_name`."""
    (row,) = [row for row in failure_rows() if ticks(row["error"]) == [class_name]]
    return FailureType[ticks(row["failure type"])[0]]


@pytest.mark.parametrize("vendor", VENDORS, ids=[vendor.key for vendor in VENDORS])
def test_given_no_answer_or_a_body_that_is_not_json_when_checking_then_the_tables_error_without_a_query_string(vendor):
    unreachable = checked_with(vendor, exc=requests.exceptions.ConnectionError("refused"))
    assert isinstance(unreachable, shared_errors.TransientError)
    assert to_traced_exception(unreachable).failure_type == failure_of("TransientError")
    assert "?" not in str(unreachable.context.get("url", ""))

    not_json = checked_with(vendor, status_code=200, text="<html>maintenance</html>")
    assert isinstance(not_json, shared_errors.UnreadableAnswer)
    assert to_traced_exception(not_json).failure_type == failure_of("UnreadableAnswer")


@pytest.mark.parametrize("path", PACKAGES, ids=IDS)
def test_given_a_package_when_finding_its_error_classes_then_they_live_in_errors_py_and_fail_as_the_table_says(path):
    raises = paragraph("What a vendor raises")
    signals = set(ticks(raises.split("Signals:", 1)[1]))
    named = [ticks(row["error"]) for row in failure_rows()]
    table_classes = {error_class(names[-1])[0] for names in named if names}
    for module in modules(path):
        for cls in defined(module, ExportsError):
            assert module.__name__.endswith(".errors"), f"{cls.__name__} is defined in {module.__name__}"
            if cls.__name__ in signals:
                continue
            assert issubclass(cls, tuple(table_classes)), cls.__name__
            assert cls.failure_type != FailureType.system_error, cls.__name__


def test_given_the_signals_the_contract_names_when_finding_them_then_each_is_an_error_class_of_a_vendor():
    signals = ticks(paragraph("What a vendor raises").split("Signals:", 1)[1])
    assert signals
    classes = {cls.__name__ for path in PACKAGES for module in modules(path) for cls in defined(module, ExportsError)}
    assert set(signals) <= classes


def source_names() -> Set[str]:
    """Every name `source_exports` defines, assigns or imports, and every string it spells out."""
    names: Set[str] = set()
    for path in (ROOT / "source_exports").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[-1] for alias in node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(target.id for target in targets if isinstance(target, ast.Name))
                names.update(target.attr for target in targets if isinstance(target, ast.Attribute))
    return names


def resolves(path: str) -> bool:
    """A path of the README, read from the repository root, `source_exports/` or `vendors/`."""
    expanded = [path.replace("<vendor>", name) for name in IDS] if "<vendor>" in path else [path]
    bases = (ROOT, ROOT / "source_exports", VENDORS_DIR)
    return all(any((base / each).exists() for base in bases) for each in expanded)


def test_given_the_contract_when_naming_files_classes_and_functions_then_each_exists():
    """Every path, class, `function()` and `Class.member` the README names is in the repository."""
    known = source_names()
    for name in sorted(set(ticks(README))):
        if "/" in name and (name.endswith("/") or re.search(r"\.\w+$", name)):
            if "<" in name.replace("<vendor>", ""):
                continue  # a pattern such as <stream name>, checked where it is read
            assert resolves(name), f"vendors/README.md names {name}, which does not exist"
            continue
        match = re.fullmatch(r"([A-Za-z_][\w.]*)(\(.*\))?", name)
        if not match or re.search(r"\.(py|json|md)$", name) or name.startswith("requests."):
            continue
        dotted, called = match.group(1), match.group(2)
        if dotted.startswith("source_exports."):
            importlib.import_module(dotted)
        elif called or "." in dotted or re.fullmatch(r"[A-Z]\w*[a-z]\w*", dotted):
            missing = [part for part in dotted.split(".") if part not in known]
            assert not missing, f"vendors/README.md names {name}: {missing} not found in source_exports"


def test_given_the_contract_when_reading_it_then_it_points_at_this_test_and_the_schema_sample_rule():
    assert "unit_tests/test_vendor_contract.py" in README
    assert "Schema samples" in section("Fixed schemas")
