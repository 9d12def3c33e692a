"""Fixtures shared by the contract tests: where the vendors' published references are."""

from __future__ import annotations

from pathlib import Path

import pytest

# CI lays the shared folder beside the clone (../shared from the repository root).
SHARED_REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """`../shared/reference`; a clear error (not a skip) when it is not there."""
    if not SHARED_REFERENCE.is_dir():
        raise FileNotFoundError(
            f"The vendors' references are not at {SHARED_REFERENCE}: the contract tests read "
            "them from the shared folder beside this repository"
        )
    return SHARED_REFERENCE
