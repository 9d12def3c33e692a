"""Every command teaches its use: a short first line, an example, and the README agrees."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.main import main

README = Path(__file__).resolve().parent.parent / "README.md"
COMMANDS = sorted(main.commands)


def test_every_command_is_listed():
    assert set(COMMANDS) == {
        "build",
        "check",
        "connect",
        "demo",
        "keygen",
        "load",
        "mappings",
        "post",
        "replay",
        "report",
        "run",
        "sandbox",
        "serve",
        "status",
    }


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_help_has_a_short_first_line_and_an_example(name):
    args = [name, "-h"] if name else ["-h"]
    result = CliRunner().invoke(main, args, prog_name="closeout", terminal_width=100)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: closeout {name}".rstrip())
    example = result.output.split("Example:", 1)[1].split("Options:", 1)[0]
    assert f"closeout {name}".rstrip() in example, result.output
    if name:
        # `closeout -h` lists each command's first line, cut at 45 characters: it must fit.
        first_line = main.commands[name].help.strip().splitlines()[0]
        assert len(first_line) <= 45, first_line
        assert f"  {name} " in CliRunner().invoke(main, ["-h"]).output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"closeout, version \S+\n", result.output)


def _readme_commands() -> dict[str, set[str]]:
    """command -> the options the README's command table shows for it."""
    table = README.read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    shown: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `closeout ([^`]+)`", table, flags=re.M):
        name, *rest = row.split()
        shown.setdefault(name, set()).update(re.findall(r"--[a-z][a-z-]*", " ".join(rest)))
    return shown


def test_readme_command_table_matches_help():
    shown = _readme_commands()
    assert set(shown) == set(COMMANDS)
    for name, options in shown.items():
        command: click.Command = main.commands[name]
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        assert options <= known, (name, options - known)
