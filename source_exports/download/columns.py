"""Column names that would collide: kept apart by a numeric suffix, never overwritten.

A CSV header may repeat a name (`a,a`), and a file may hold a column named like one the connector
adds (`_ab_source_row`, a stream's identity columns). A dict keeps one value per key, so either
would silently lose data; instead the later or the data column is renamed `<name>_2` (`_3`, ...
when that is taken too) and the caller says so. The row path and the vectorised paths use the
same function, so both give the same names.
"""

from __future__ import annotations

from typing import Collection, List, Mapping, Sequence, Tuple


def unique_names(names: Sequence[str], reserved: Collection[str] = ()) -> List[str]:
    """`names` with every repeat, and every name in `reserved`, renamed to a free `<name>_<n>`.

    >>> unique_names(["a", "a", "_ab_source_row"], reserved={"_ab_source_row"})
    ['a', 'a_2', '_ab_source_row_2']
    """
    present = set(names)
    seen = set(reserved)
    result = []
    for name in names:
        if name in seen:
            number = 2
            while f"{name}_{number}" in seen or f"{name}_{number}" in present:
                number += 1
            name = f"{name}_{number}"
        seen.add(name)
        result.append(name)
    return result


Renames = List[Tuple[str, str]]


def renamed(before: Sequence[str], after: Sequence[str]) -> Renames:
    """Which names `unique_names` changed, position by position: (old, new) pairs."""
    return [(old, new) for old, new in zip(before, after) if old != new]


def move_aside(row: Mapping[str, object], reserved: Collection[str]) -> Tuple[dict, Renames]:
    """`row` with the data columns named like `reserved` ones renamed (same position); and the renames."""
    names = list(row)
    new_names = unique_names(names, reserved)
    return dict(zip(new_names, row.values())), renamed(names, new_names)


def describe(changes: Renames) -> str:
    """`'a' as 'a_2', ...` for a warning."""
    return ", ".join(f"'{old}' as '{new}'" for old, new in changes)
