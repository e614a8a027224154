"""`copier update`: a team's edits survive, the template's changes arrive, nothing conflicts."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
from pathlib import Path

import copier
import pytest
import yaml

from .conftest import REPO_ROOT, git, snapshot_template

ANSWERS = {"project_name": "Update Test", "team_members": ["Ada Lovelace <ada@uni.edu>"]}


def copy_at_latest_tag(template: Path, destination: Path) -> Path:
    copier.run_copy(str(template), str(destination), data=ANSWERS, defaults=True, quiet=True)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "project from the template")
    return destination


def release_template_change(template: Path, tag: str) -> None:
    """A new template version: edit the generated README and a debug preset, then tag."""
    readme = template / "template" / "README.md.jinja"
    lines = readme.read_text().splitlines(keepends=True)
    lines.insert(1, "\n> Made with copier-lightning " + tag + ".\n")
    readme.write_text("".join(lines))
    preset = template / "template" / "configs" / "debug" / "fast_dev_run.yaml"
    preset.write_text(preset.read_text() + "  enable_model_summary: false\n")
    git(template, "commit", "-q", "-am", f"template change for {tag}")
    git(template, "tag", tag)


def update(project: Path) -> None:
    copier.run_update(
        str(project), defaults=True, overwrite=True, conflict="inline", quiet=True, unsafe=False
    )


def test_team_edits_survive_and_template_changes_arrive(tmp_path: Path) -> None:
    template = snapshot_template(tmp_path / "template", tag="v0.2.0")
    project = copy_at_latest_tag(template, tmp_path / "project")

    sample = project / "configs" / "classification" / "sample.yaml"
    sample.write_text(sample.read_text().replace("max_epochs: 8", "max_epochs: 12"))
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Our results\n\n97.5 % on the test split.\n")
    own_module = project / "src" / "update_test" / "attention.py"
    own_module.write_text('"""Our own module."""\n')
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "team edits")

    release_template_change(template, "v0.2.1")
    update(project)

    assert "max_epochs: 12" in sample.read_text()
    assert own_module.read_text() == '"""Our own module."""\n'
    text = readme.read_text()
    assert "## Our results" in text and "Made with copier-lightning v0.2.1" in text
    preset = project / "configs" / "debug" / "fast_dev_run.yaml"
    assert "enable_model_summary: false" in preset.read_text()
    conflicted = [
        p
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.parts and "<<<<<<<" in p.read_text(errors="replace")
    ]
    assert not conflicted
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.1"
    assert answers["project_name"] == "Update Test"


def test_update_of_an_unedited_project_equals_a_fresh_copy(tmp_path: Path) -> None:
    template = snapshot_template(tmp_path / "template", tag="v0.2.0")
    project = copy_at_latest_tag(template, tmp_path / "project")
    release_template_change(template, "v0.2.1")
    update(project)
    fresh = tmp_path / "fresh"
    copier.run_copy(str(template), str(fresh), data=ANSWERS, defaults=True, quiet=True)

    def tree(root: Path) -> set[str]:
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(root).parts
        }

    assert tree(project) == tree(fresh)
    different = [
        name for name in tree(fresh) if not filecmp.cmp(project / name, fresh / name, shallow=False)
    ]
    assert different == []


# The last template version before the task folders (v0.1.x layout): models/, data/, metrics/.
BEFORE_TASK_FOLDERS = "4520175"


def test_update_across_the_task_folder_move_keeps_a_team_edit(tmp_path: Path) -> None:
    """A team that edited ``models/classifier.py`` and ``surgery.py`` updates to the version
    that moved the one to ``tasks/classification/model.py`` and replaced the other by a
    package: the migration moves the file first, so the edit is merged at the new path (a
    conflict at worst), and keeps the edited module beside the package; nothing is dropped.
    Without --trust, copier refuses and says why."""
    try:
        git(REPO_ROOT, "cat-file", "-e", f"{BEFORE_TASK_FOLDERS}^{{commit}}")
    except subprocess.CalledProcessError:
        pytest.skip(f"this clone lacks commit {BEFORE_TASK_FOLDERS} (a shallow clone)")
    template = tmp_path / "template"
    template.mkdir()
    archive = subprocess.run(
        ["git", "archive", BEFORE_TASK_FOLDERS], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x"], cwd=template, input=archive, check=True)
    git(template, "init", "-q", "-b", "main")
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "template before the task folders")
    git(template, "tag", "v0.1.0")
    project = copy_at_latest_tag(template, tmp_path / "project")
    old = project / "src" / "update_test" / "models" / "classifier.py"
    edit = "# Our attention block: added by the team before the update.\n"
    marker = "class ImageClassifier("
    old.write_text(old.read_text().replace(marker, edit + marker, 1))
    surgery = project / "src" / "update_test" / "surgery.py"  # became a package in v0.2.0
    surgery.write_text(surgery.read_text() + "\n# Our own surgery helper.\n")
    git(project, "commit", "-q", "-am", "team edit")

    # The template as it is now, released as v0.2.0 (the version of the move).
    git(template, "rm", "-r", "-q", ".")
    snapshot = snapshot_template(tmp_path / "snapshot")
    shutil.rmtree(snapshot / ".git")
    shutil.copytree(snapshot, template, dirs_exist_ok=True)
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "template with task folders")
    git(template, "tag", "v0.2.0")
    with pytest.raises(copier.errors.UnsafeTemplateError, match="migrations"):
        copier.run_update(str(project), defaults=True, overwrite=True, quiet=True, unsafe=False)
    copier.run_update(
        str(project), defaults=True, overwrite=True, conflict="inline", quiet=True, unsafe=True
    )

    new = project / "src" / "update_test" / "tasks" / "classification" / "model.py"
    assert not old.exists()
    assert edit in new.read_text()
    # Everything else the team did not touch updated cleanly.
    conflicted = sorted(
        str(p.relative_to(project))
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.parts and "<<<<<<<" in p.read_text(errors="replace")
    )
    assert conflicted in ([], ["src/update_test/tasks/classification/model.py"])
    # A module replaced by a package: the team's edited version is kept beside it, unedited
    # ones are not.
    package = project / "src" / "update_test"
    assert (package / "surgery" / "__init__.py").exists() and not surgery.exists()
    assert "# Our own surgery helper." in (package / "surgery.py.before-v0.2.0").read_text()
    assert not (package / "compare.py.before-v0.2.0").exists()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
