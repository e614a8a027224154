"""Every Python file of the template type-checks with mypy, with the rendered project's settings.

One render holds every Python file the template has (all tasks, the wandb logger: the only
answers that add Python files), so mypy over it is mypy over the template's Python as it
stands, with ``{{ package_name }}`` filled in. It runs once, not per answer set: the other
answers change values, not code paths mypy would see differently.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import render
from .test_architecture import python_templates, rendered_name
from .test_render import ALL_TASKS

PACKAGE = "typed_project"


@pytest.fixture(scope="module")
def every_python_file(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("typecheck") / "project"
    render(template_repo, project, tasks=ALL_TASKS, logger="wandb", package_name=PACKAGE)
    return project


def test_the_render_holds_every_python_file_of_the_template(every_python_file: Path) -> None:
    rendered = {p.name for p in every_python_file.rglob("*.py") if ".git" not in p.parts}
    missing = {rendered_name(p) for p in python_templates()} - rendered
    assert missing == set()


def test_mypy_finds_no_error(every_python_file: Path) -> None:
    mypy = str(Path(sys.executable).with_name("mypy"))
    # The settings are the project's own ([tool.mypy] in its pyproject.toml: src and tests).
    result = subprocess.run(
        [mypy, "--no-incremental"], cwd=every_python_file, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr
