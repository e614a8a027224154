"""Fixtures for testing the template: a committed, tagged copy of the working tree to render.

copier renders a git template at a tag or commit, and ignores uncommitted changes in favour
of the latest tag. So the session copies the working tree (tracked and untracked, not
ignored files) into a throw-away repository, commits it and tags it, and every test renders
that commit with ``vcs_ref="HEAD"``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import copier
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}
os.environ.update(GIT_IDENTITY)
# Rendered projects' tests must not reach any network service.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "offline"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout


def snapshot_template(destination: Path, tag: str = "v0.1.0") -> Path:
    """Copy the working tree into ``destination`` as a fresh git repository tagged ``tag``."""
    listed = git(REPO_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "template snapshot")
    git(destination, "tag", tag)
    return destination


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template"))


def render(template: Path, destination: Path, **answers) -> Path:
    """Render ``template`` at HEAD into ``destination`` with ``answers`` (defaults for the rest)."""
    copier.run_copy(
        str(template),
        str(destination),
        data=answers,
        vcs_ref="HEAD",
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    return destination
