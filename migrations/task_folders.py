"""copier migration (before updating to v0.2.0): carry a team's edits across the task folders.

v0.2.0 moved each task's modules from ``data/``, ``models/`` and ``metrics/`` into
``src/<pkg>/tasks/<task>/`` and split some shared modules into packages. copier cannot follow
a move: a team's edit to an old path would be applied to a file that no longer exists, and
dropped. Run by ``copier update --trust`` before the update, this script

- ``git mv``s every moved file the project still has to its new place (``MOVES``), so copier
  merges the team's version with the template's new one there (where both changed the same
  lines, the file holds conflict markers);
- for a module that v0.2.0 split or replaced (``REPLACED``), keeps the team's version beside
  the new code as ``<name>.py.before-v0.2.0`` when it differs from what the old template
  wrote (rendered again here from the old version), so the edit can be carried over by hand.

Nothing of the team's is deleted. Paths a project does not have are skipped.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

# old path -> new path, inside src/<pkg>/ (v0.1.x -> v0.2.0)
MOVES = {
    "data/imagefolder.py": "tasks/classification/imagefolder.py",
    "models/classifier.py": "tasks/classification/model.py",
    "data/kitti.py": "tasks/detection/kitti.py",
    "data/coco.py": "tasks/detection/coco.py",
    "models/detector.py": "tasks/detection/model.py",
    "metrics/kitti.py": "tasks/detection/kitti_metric.py",
    "metrics/kitti_files.py": "tasks/detection/kitti_files.py",
    "metrics/coco.py": "tasks/detection/coco_metric.py",
    "metrics/coco_files.py": "tasks/detection/coco_files.py",
    "data/squad.py": "tasks/qa/squad.py",
    "models/qa.py": "tasks/qa/model.py",
    "metrics/squad.py": "tasks/qa/squad_metric.py",
    "metrics/squad_files.py": "tasks/qa/squad_files.py",
    "answer_pages.py": "tasks/qa/answer_pages.py",
    "data/librispeech.py": "tasks/asr/librispeech.py",
    "models/asr.py": "tasks/asr/model.py",
    "metrics/asr.py": "tasks/asr/metric.py",
    "metrics/asr_files.py": "tasks/asr/metric_files.py",
    "transcript_pages.py": "tasks/asr/transcript_pages.py",
}
# Modules (inside src/<pkg>/, or tests/) that v0.2.0 replaced by a package or split up.
REPLACED = ["surgery.py", "compare.py"]
BACKUP_SUFFIX = ".before-v0.2.0"


def old_render(template: str, version: str, answers: dict, into: Path) -> Path:
    """The project as the old template version wrote it (no tasks run, nothing asked)."""
    import copier

    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    copier.run_copy(template, str(into), data=data, vcs_ref=version, defaults=True, quiet=True)
    return into


def edited(project: Path, before: Path | None, path: Path) -> bool:
    """Whether the team changed ``path`` since the old template wrote it (unknown: yes)."""
    if before is None or not (before / path).exists():
        return True
    return (before / path).read_bytes() != (project / path).read_bytes()


def main(project: Path, template: str | None = None, version: str | None = None) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    package = Path("src") / answers["package_name"]
    moved = {package / o: package / n for o, n in MOVES.items() if (project / package / o).exists()}
    replaced = [package / name for name in REPLACED if (project / package / name).exists()]
    if not moved and not replaced:
        return
    with tempfile.TemporaryDirectory() as folder:
        before = None
        if template is not None and version is not None:
            before = old_render(template, version, answers, Path(folder) / "project")
        for old, new in moved.items():
            if not edited(project, before, old):
                continue  # the template's new version replaces it: nothing to merge
            if (project / new).exists():
                continue
            (project / new).parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "mv", str(old), str(new)], cwd=project, check=True)
            print(f"moved your edited {old} to {new}: copier merges the template's changes there")
        for path in replaced:
            if not edited(project, before, path):
                continue  # not edited: the template's new code replaces it
            backup = project / path.with_name(path.name + BACKUP_SUFFIX)
            backup.write_bytes((project / path).read_bytes())
            print(f"kept your edited {path} as {backup.relative_to(project)}: carry the edit over")


if __name__ == "__main__":
    main(Path.cwd(), *sys.argv[1:3])
