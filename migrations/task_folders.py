"""copier migration (before updating to v0.2.0): move a project's task modules into task folders.

v0.2.0 moved each task's modules from ``data/``, ``models/`` and ``metrics/`` into
``src/<pkg>/tasks/<task>/``. copier cannot follow a move: a team's edit to an old path would be
applied to a file that no longer exists and dropped. Run by ``copier update --trust`` before
the update, this script ``git mv``s every old path the project still has to its new place, so
copier then merges the team's version with the template's new one there (where both changed,
the file holds conflict markers; nothing is lost). Paths a project does not have are skipped.
"""

from __future__ import annotations

import subprocess
import sys
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


def main(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    package = project / "src" / answers["package_name"]
    for old, new in MOVES.items():
        source, target = package / old, package / new
        if not source.exists() or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "mv", str(source), str(target)], cwd=project, check=True)
        print(f"moved {source.relative_to(project)} -> {target.relative_to(project)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
