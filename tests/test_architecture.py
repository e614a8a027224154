"""The template's Python is plain Python: tasks are chosen by whole folders and files.

Inside the template's ``.py`` files (source and tests) there are no Jinja control blocks
(``{% %}``) and no Jinja comments, except in the one generated module that lists the installed
tasks. ``{{ package_name }}`` and other ``{{ }}`` values may appear (an import, a constant);
which task's code a project holds is decided by conditional file and folder names only.
"""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import REPO_ROOT

TEMPLATE = REPO_ROOT / "template"
GENERATED = TEMPLATE / "src" / "{{ package_name }}" / "tasks" / "__init__.py.jinja"
CONDITION = re.compile(r"\{%.*?%\}")


def rendered_name(path: Path) -> str:
    """A template file's name once rendered (conditions dropped, ``.jinja`` removed)."""
    return CONDITION.sub("", path.name).removesuffix(".jinja")


def python_templates() -> list[Path]:
    return sorted(
        p for p in TEMPLATE.rglob("*") if p.is_file() and rendered_name(p).endswith(".py")
    )


def test_template_python_files_hold_no_control_blocks() -> None:
    files = python_templates()
    assert GENERATED in files and len(files) > 50
    offenders = [
        str(p.relative_to(TEMPLATE))
        for p in files
        if p != GENERATED and ("{%" in p.read_text() or "{#" in p.read_text())
    ]
    assert offenders == []


def test_a_task_folder_is_chosen_whole() -> None:
    """Files inside a task folder carry no condition of their own: the folder decides."""
    tasks = TEMPLATE / "src" / "{{ package_name }}" / "tasks"
    folders = [p for p in tasks.iterdir() if p.is_dir()]
    assert len(folders) == 4 and all("{% if" in p.name for p in folders)
    conditional = [str(p.relative_to(tasks)) for f in folders for p in f.rglob("*{%*")]
    assert conditional == []
