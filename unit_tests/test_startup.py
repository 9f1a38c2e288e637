"""The faster attribute-doc reader (`cdk_seam`) gives exactly what `attributes_doc` gives; `startup` installs it,
with the allocator, BLAS-thread and garbage-collector settings of the command."""

import functools
import importlib
import inspect
import os
import subprocess
import sys
import textwrap

import attributes_doc
import pytest
import serpyco_rs
from airbyte_cdk.models import airbyte_protocol
from attributes_doc._base import FStringFound

from source_exports import cdk_seam, startup
from source_exports.cdk_seam import fast_attributes_doc

SAMPLE = '''
class Base:
    a: int = 1
    """doc of a"""
    b = 2
    """doc of b, overridden below"""


def factory():
    class Local(Base):
        c: int = 3
        """local c"""

    return Local


class Outer:
    class Inner(Base):
        b = 4
        """inner b"""
        x = y = 5
        """x and y"""
        n = 6
        7
        """not a string above: skipped"""


def decorate(cls):
    return cls


@decorate
class Decorated(Base):
    d: str
    """decorated d"""


class Formatted:
    f = 1
    f"""an f-string docstring ({f})"""
'''


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("startup_sample")
    (folder / "startup_sample.py").write_text(textwrap.dedent(SAMPLE))
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("startup_sample")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("startup_sample", None)


def protocol_classes():
    return [value for value in vars(airbyte_protocol).values() if inspect.isclass(value)]


def test_given_every_airbyte_protocol_class_when_read_then_docs_equal_attributes_doc():
    classes = protocol_classes()
    assert len(classes) >= 30
    for cls in classes:
        assert fast_attributes_doc(cls) == attributes_doc.get_attributes_doc(cls), cls


@pytest.mark.parametrize("name", ["Base", "Outer.Inner", "Decorated", "factory"])
def test_given_nested_local_and_decorated_classes_when_read_then_docs_equal_attributes_doc(sample, name):
    cls = sample.factory() if name == "factory" else eval(f"sample.{name}")
    assert fast_attributes_doc(cls) == attributes_doc.get_attributes_doc(cls)
    assert fast_attributes_doc(cls)  # each sample class has docs, so equality is not trivially {} == {}


def test_given_inherited_and_overridden_docs_when_read_then_subclass_wins(sample):
    assert fast_attributes_doc(sample.Outer.Inner) == {
        "a": "doc of a",
        "b": "inner b",
        "x": "x and y",
        "y": "x and y",
    }


def test_given_an_f_string_attribute_doc_when_read_then_both_raise(sample):
    with pytest.raises(FStringFound):
        attributes_doc.get_attributes_doc(sample.Formatted)
    with pytest.raises(FStringFound):
        fast_attributes_doc(sample.Formatted)


def test_given_builtin_classes_when_read_then_no_docs():
    assert fast_attributes_doc(dict) == attributes_doc.get_attributes_doc(dict) == {}


def test_given_the_fast_reader_when_a_serializer_is_built_then_its_json_schema_is_unchanged(monkeypatch):
    for reader in (fast_attributes_doc, attributes_doc.get_attributes_doc):
        for name in cdk_seam.SERPYCO_PATCHED:
            monkeypatch.setattr(importlib.import_module(name), "get_attributes_doc", functools.cache(reader))
        schema = serpyco_rs.Serializer(airbyte_protocol.AirbyteMessage, omit_none=True).get_json_schema()
        if reader is fast_attributes_doc:
            fast = schema
    assert schema == fast


def test_given_no_pool_chosen_when_installed_then_jemalloc_is_asked_for(monkeypatch):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.setattr(cdk_seam, "speed_up_serpyco", lambda: None)
    startup.install()
    assert startup.os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "jemalloc"


def test_given_a_pool_chosen_by_the_user_when_installed_then_it_is_kept(monkeypatch):
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    monkeypatch.setattr(cdk_seam, "speed_up_serpyco", lambda: None)
    startup.install()
    assert startup.os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system"


def test_given_no_blas_thread_count_chosen_when_installed_then_one_thread_is_asked_for(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "undone after the test")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setattr(cdk_seam, "speed_up_serpyco", lambda: None)
    startup.install()
    assert startup.os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_given_a_blas_thread_count_chosen_by_the_user_when_installed_then_it_is_kept(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    monkeypatch.setattr(cdk_seam, "speed_up_serpyco", lambda: None)
    startup.install()
    assert startup.os.environ["OPENBLAS_NUM_THREADS"] == "4"


def test_given_the_default_thresholds_when_collecting_less_often_then_only_the_young_one_is_raised(monkeypatch):
    asked = []
    monkeypatch.setattr(startup.gc, "get_threshold", lambda: (700, 10, 10))
    monkeypatch.setattr(startup.gc, "set_threshold", lambda *thresholds: asked.append(thresholds))
    startup.collect_less_often()
    assert asked == [(startup.YOUNG_THRESHOLD, 10, 10)]


def test_given_a_higher_threshold_already_set_when_collecting_less_often_then_it_is_kept(monkeypatch):
    asked = []
    monkeypatch.setattr(startup.gc, "get_threshold", lambda: (50_000, 20, 5))
    monkeypatch.setattr(startup.gc, "set_threshold", lambda *thresholds: asked.append(thresholds))
    startup.collect_less_often()
    assert asked == [(50_000, 20, 5)]


@pytest.fixture
def collections():
    """The generation of every cyclic collection that starts while the test runs; frozen objects thawed after."""
    started = []

    def heard(phase, info):
        if phase == "start":
            started.append(info["generation"])

    startup.gc.callbacks.append(heard)
    try:
        yield started
    finally:
        startup.gc.callbacks.remove(heard)
        startup.gc.unfreeze()
        startup.gc.enable()


def test_given_many_new_objects_when_modules_load_uncollected_then_none_is_collected_and_all_are_frozen(collections):
    frozen_before = startup.gc.get_freeze_count()
    with startup.modules_uncollected():
        assert not startup.gc.isenabled()
        made = [{"row": index} for index in range(3 * startup.gc.get_threshold()[0] + 1_000)]
        during = list(collections)
    assert during == []
    assert startup.gc.isenabled()
    assert startup.gc.get_freeze_count() >= frozen_before + len(made)


def test_given_an_error_while_modules_load_when_leaving_then_collection_is_on_again(collections):
    with pytest.raises(ImportError), startup.modules_uncollected():
        raise ImportError("a module failed to load")
    assert startup.gc.isenabled()


def test_given_a_fresh_process_when_the_command_starts_then_every_setting_is_applied_and_its_modules_are_frozen():
    probe = textwrap.dedent(
        """
        import gc, os, sys
        from source_exports import startup
        with startup.command_start():
            collecting = gc.isenabled()
            import source_exports.run
        print(collecting, gc.isenabled(), gc.get_threshold()[0], gc.get_freeze_count() > 0)
        print(os.environ["ARROW_DEFAULT_MEMORY_POOL"], os.environ["OPENBLAS_NUM_THREADS"], sys.modules["pyarrow._s3fs"])
        """
    )
    unset = ("ARROW_DEFAULT_MEMORY_POOL", "OPENBLAS_NUM_THREADS")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    printed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True).stdout

    assert printed.splitlines() == [f"False True {startup.YOUNG_THRESHOLD} True", "jemalloc 1 None"]
