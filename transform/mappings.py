"""`closeout mappings`: what Toast sends that the seeds do not map, and the rows to add."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb

from closeout import warehouse
from closeout.errors import ConfigurationError, WarehouseError
from transform.build import PROJECT_DIR

UNMAPPED_RELATION = "finance.unmapped_sources"


@dataclass(frozen=True)
class Unmapped:
    restaurant_guid: str
    source_kind: str
    source_guid: str | None
    source_name: str | None
    seed_file: str
    suggested_row: str


def unmapped_sources() -> list[Unmapped]:
    """Every Toast source seen in the data with no mapping, and the seed row to add."""
    try:
        with warehouse.connect(read_only=True) as con:
            rows = con.execute(f"""
                select distinct restaurant_guid, source_kind, source_guid, source_name,
                       seed_file, suggested_row
                from {UNMAPPED_RELATION}
                order by seed_file, source_kind, source_name, restaurant_guid""").fetchall()
    except duckdb.CatalogException as exc:
        raise WarehouseError(
            f"No {UNMAPPED_RELATION} model in the warehouse yet: run `closeout build` first."
        ) from exc
    return [Unmapped(*row) for row in rows]


def append_stub_rows(
    items: list[Unmapped], seeds_dir: Path = PROJECT_DIR / "seeds"
) -> dict[str, int]:
    """Append each suggested row to its seed file unless an identical row is already there.
    Returns rows added per file. The stubs leave the account empty: the journal stays held
    until an accountant fills it in."""
    added: dict[str, int] = {}
    for seed_file in sorted({item.seed_file for item in items}):
        path = seeds_dir / seed_file
        existing = _seed_text(path)
        known = {_normalise(line) for line in existing.splitlines()}
        new_lines = []
        for item in items:
            line = item.suggested_row.strip()
            if item.seed_file == seed_file and _normalise(line) not in known:
                known.add(_normalise(line))
                new_lines.append(line)
        if new_lines:
            text = existing if existing.endswith("\n") or not existing else existing + "\n"
            path.write_text(text + "\n".join(new_lines) + "\n", encoding="utf-8")
            added[seed_file] = len(new_lines)
    return added


def _seed_text(path: Path) -> str:
    """The seed file as text (an Excel byte-order mark is kept as it is), or a message naming
    the file when Excel saved it in its plain-CSV encoding."""
    if not path.exists():
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"seeds/{path.name} is not UTF-8 text: save it as 'CSV UTF-8 (Comma delimited)' and "
            "run `closeout mappings --append` again"
        ) from exc


def _normalise(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in next(csv.reader(io.StringIO(line)), []))
