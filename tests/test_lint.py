"""The template repository's own Python (these tests) is ruff-clean, like what it renders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import REPO_ROOT


def test_ruff_is_clean_on_the_repository() -> None:
    ruff = str(Path(sys.executable).with_name("ruff"))
    for command in ([ruff, "check", "."], [ruff, "format", "--check", "."]):
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
