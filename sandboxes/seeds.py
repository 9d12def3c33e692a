"""The shipped mapping seeds, read by the ERP sandboxes so that what closeout's shipped mappings
post is exactly what a sandbox accepts, and the settings a test may change through
`/_sandbox/configure`."""

from __future__ import annotations

import csv
from dataclasses import asdict, fields
from pathlib import Path
from typing import TypeVar

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

Settings = TypeVar("Settings")


def rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def unique(values) -> list[str]:
    """Non-blank values, stripped, in first-seen order."""
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def with_changes(settings: Settings, changes: dict) -> Settings:
    """A copy of a settings dataclass with `changes`; an unknown name is refused by name."""
    known = {f.name for f in fields(settings)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return type(settings)(**{**asdict(settings), **changes})
