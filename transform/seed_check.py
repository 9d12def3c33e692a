"""The mapping seeds, checked before dbt reads them.

dbt loads each seed with DuckDB's CSV reader into the column types seeds/_seeds.yml declares.
A value that does not convert fails that seed deep in DuckDB (after the table was dropped), and
a file Excel saved in another shape (separated by ';', another encoding) fails as a puzzle.
Here each file is read the way dbt will read it and every problem is named in the accountant's
terms: the file, the row (as Excel numbers it: the header is row 1), the column, the value and
what to write instead.

A UTF-8 byte-order mark (Excel's "CSV UTF-8") is fine: dbt and DuckDB skip it, and so does this
check.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from closeout.errors import ConfigurationError

BOM = "\ufeff"
OTHER_SEPARATORS = {";": "';'", "\t": "tabs"}
SHOWN_PER_FILE = 10  # a file with many bad rows usually has one cause: name the first few
INTEGER_RANGE = {"integer": 2**31, "int": 2**31, "bigint": 2**63, "smallint": 2**15}
NUMBER = re.compile(r"-?(\d+)(?:\.(\d+))?")
DECIMAL_TYPE = re.compile(r"(?:decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")


@dataclass(frozen=True)
class SeedProblem:
    file: str
    text: str  # "row 3, column is_active: 'yes' is not true or false"
    about_columns: bool = False  # the header names other columns than _seeds.yml declares

    def __str__(self) -> str:
        return f"seeds/{self.file}: {self.text}"


def check_seeds(seeds_dir: Path) -> None:
    """Raise ConfigurationError naming every seed problem dbt would trip over, if any."""
    declared = declared_column_types(seeds_dir)
    problems = []
    for path in sorted(seeds_dir.glob("*.csv")):
        if path.stem in declared:
            problems += seed_problems(path, declared[path.stem])
    if problems:
        raise ConfigurationError(_report(problems, seeds_dir))


def declared_column_types(seeds_dir: Path) -> dict[str, dict[str, str]]:
    """Seed name -> {column: declared type}, from seeds/_seeds.yml."""
    seeds = yaml.safe_load((seeds_dir / "_seeds.yml").read_text())["seeds"]
    return {
        seed["name"]: {
            column: str(kind).strip().lower()
            for column, kind in seed.get("config", {}).get("column_types", {}).items()
        }
        for seed in seeds
    }


def seed_problems(path: Path, column_types: dict[str, str]) -> list[SeedProblem]:
    """What is wrong with one seed file: its encoding and separator, its header, its values."""
    text, problem = _decoded(path)
    if problem:
        return [SeedProblem(path.name, problem)]
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        return [SeedProblem(path.name, f"cannot be read as CSV ({exc}): save it as CSV again")]
    while rows and not rows[-1]:
        rows.pop()  # empty lines at the end load as nothing
    header = rows[0] if rows else []
    problem = _separator_problem(header)
    if problem:
        return [SeedProblem(path.name, problem)]
    problem = _header_problem(header, list(column_types))
    if problem:
        return [SeedProblem(path.name, problem, about_columns=True)]
    return [
        SeedProblem(path.name, text)
        for number, row in enumerate(rows[1:], start=2)
        for text in _row_problems(number, row, header, column_types)
    ]


def value_problem(value: str, column_type: str) -> str | None:
    """Why `value` does not load into `column_type` as written, or None when it does (an empty
    value loads as empty whatever the type)."""
    expected = _expected_form(value, column_type)
    if expected is None:
        return None
    spaces = value != value.strip() and _expected_form(value.strip(), column_type) is None
    return f"{value!r} is not {expected}" + (" (remove the spaces around it)" if spaces else "")


def _decoded(path: Path) -> tuple[str, str | None]:
    data = path.read_bytes()
    try:
        return data.decode("utf-8").removeprefix(BOM), None
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        return "", (
            f"row {row} is not UTF-8 text (byte 0x{data[exc.start]:02X}): save the file as "
            "'CSV UTF-8 (Comma delimited)' (Excel's plain 'CSV' uses another encoding)"
        )


def _separator_problem(header: list[str]) -> str | None:
    if len(header) != 1:
        return None
    for separator, name in OTHER_SEPARATORS.items():
        if separator in header[0]:
            return f"the file is separated by {name}: save it as comma-separated CSV"
    return None


def _header_problem(header: list[str], expected: list[str]) -> str | None:
    extra = [c for c in header if c not in expected]
    missing = [c for c in expected if c not in header]
    if not extra and not missing:
        return None
    return "; ".join(
        [f"column(s) {', '.join(extra)} not declared"] * bool(extra)
        + [f"column(s) {', '.join(missing)} missing"] * bool(missing)
    )


def _row_problems(
    number: int, row: list[str], header: list[str], column_types: dict[str, str]
) -> list[str]:
    if not row:
        # DuckDB skips an empty line, which would shift every later row number dbt reports
        return [f"row {number} is empty: delete it"]
    if len(row) != len(header):
        return [
            f"row {number} has {len(row)} values, the header has {len(header)}: a value that "
            "contains a comma must be in double quotes, and a number is written with '.' "
            "(1.50, not 1,50)"
        ]
    found = []
    for column, value in zip(header, row, strict=True):
        problem = value_problem(value, column_types[column])
        if problem:
            found.append(f"row {number}, column {column}: {problem}")
    return found


def _expected_form(value: str, column_type: str) -> str | None:
    """What a value of `column_type` must look like, when `value` does not; None when it does."""
    if value == "":
        return None
    if column_type in ("boolean", "bool"):
        return None if value.lower() in ("true", "false") else "true or false"
    if column_type == "date":
        return None if _is_iso_date(value) else "a calendar date written YYYY-MM-DD (2026-01-31)"
    if column_type in INTEGER_RANGE:
        whole = re.fullmatch(r"-?\d+", value) and abs(int(value)) < INTEGER_RANGE[column_type]
        return None if whole else "a whole number written with digits only (e.g. 2)"
    decimal = DECIMAL_TYPE.fullmatch(column_type)
    if decimal:
        return _decimal_form(value, int(decimal.group(1)), int(decimal.group(2)))
    if column_type in ("double", "float", "real", "decimal", "numeric"):
        return None if NUMBER.fullmatch(value) else _number_words("")
    return None  # text, and any type this check does not know, is dbt's to load


def _decimal_form(value: str, precision: int, scale: int) -> str | None:
    number = NUMBER.fullmatch(value)
    fits = (
        number is not None
        and len(number.group(1).lstrip("0")) <= precision - scale
        and len(number.group(2) or "") <= scale
    )
    return None if fits else _number_words(f" with at most {scale} decimals")


def _number_words(decimals: str) -> str:
    return (
        f"a number{decimals} written with digits and '.' (e.g. 1.50): no currency sign, "
        "thousands separator or decimal comma"
    )


def _is_iso_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _report(problems: list[SeedProblem], seeds_dir: Path) -> str:
    shown: list[str] = []
    for file in dict.fromkeys(p.file for p in problems):
        of_file = [p for p in problems if p.file == file]
        shown += [str(p) for p in of_file[:SHOWN_PER_FILE]]
        if len(of_file) > SHOWN_PER_FILE:
            shown.append(f"seeds/{file}: ... and {len(of_file) - SHOWN_PER_FILE} more")
    advice = (
        "Rows are numbered as in Excel (the header is row 1). Nothing was built: fix the files "
        f"in {seeds_dir} and run `closeout build` again."
    )
    if any(p.about_columns for p in problems):
        advice += (
            " A column not declared: add it to that seed's column_types in "
            f"{seeds_dir / '_seeds.yml'} (or take it out of the CSV). A column missing: add it "
            "to the CSV's header, with empty values where the default will do (a column a new "
            "release added, such as settings.csv's open_check_grace_days, is described in "
            "_seeds.yml)."
        )
    return "the mapping files cannot be loaded:\n  " + "\n  ".join(shown) + "\n" + advice
