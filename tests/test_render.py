"""Render the template over a matrix of answers; lint everything, run the projects' tests.

Every answer set is rendered, checked for leftover Jinja, linted with ruff and its tests
collected. Every distinct render (each task alone, once per data-set answer, and every task
together) also runs the rendered project's own test suite (with this interpreter: nothing is
reinstalled per render), sharing only the heavy tests (see ``ALL_TASKS_SET``); the other
logger and team answers run the test files that depend on them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT, render

TEAM_OF_4 = [
    "Ada Lovelace <ada@uni.edu>",
    "Alan Turing <alan@uni.edu>",
    "Grace Hopper <grace@uni.edu>",
    "Edsger Dijkstra <edsger@uni.edu>",
]
ALL_TASKS = list(
    yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["task_config_dirs"]["default"]
)
ANSWER_SETS = {
    # Image classification alone (the default answers), and with the other loggers and teams.
    "csv-solo-ci-py311": dict(logger="csv", ci=True, python_version="3.11"),
    "wandb-team4-noci-py312": dict(
        logger="wandb",
        ci=False,
        python_version="3.12",
        team_members=TEAM_OF_4,
        wandb_entity="cmpe258-team7",
        license="Apache-2.0",
    ),
    "tensorboard-team2-ci-py312": dict(
        logger="tensorboard",
        ci=True,
        python_version="3.12",
        team_members=TEAM_OF_4[:2],
        license="BSD-3-Clause",
    ),
    # Every task together (first in name order, so that xdist starts its long suite first).
    "all-tasks-csv-team4-noci-py310": dict(
        logger="csv",
        ci=False,
        python_version="3.10",
        team_members=TEAM_OF_4,
        license="none",
        tasks=ALL_TASKS,
        qa_dataset="squad_v1",
        detection_dataset="coco",
    ),
    # Each other task alone, once per data-set answer.
    "csv-detection-kitti-py311": dict(
        logger="csv",
        ci=True,
        python_version="3.11",
        tasks=["object_detection"],
        detection_dataset="kitti",
    ),
    "tensorboard-detection-coco-py312": dict(
        logger="tensorboard",
        ci=False,
        python_version="3.12",
        tasks=["object_detection"],
        detection_dataset="coco",
    ),
    "csv-qa-squad1-noci-py310": dict(
        logger="csv",
        ci=False,
        python_version="3.10",
        tasks=["question_answering"],
        qa_dataset="squad_v1",
    ),
    "wandb-qa-squad2-ci-py311": dict(
        logger="wandb",
        ci=True,
        python_version="3.11",
        tasks=["question_answering"],
        qa_dataset="squad_v2",
    ),
    "wandb-speech-ci-py312": dict(
        logger="wandb",
        ci=True,
        python_version="3.12",
        tasks=["speech_recognition"],
    ),
}
# Every distinct render (each task alone with each data-set answer, and all tasks together)
# runs its own whole suite (None), except the heavy tests below, which run where the code they
# exercise differs. The other classification sets run the test files that depend on what they
# change (the logger, the team): the rest of their suite is the same code as csv-solo's.
FULL_TESTS: dict[str, list[str] | None] = {
    "csv-solo-ci-py311": None,
    "wandb-team4-noci-py312": [
        "tests/test_cli.py",
        "tests/classification/test_training.py",
        "tests/test_wandb.py",
        "tests/test_compare.py",
        "tests/test_report.py",
    ],
    "tensorboard-team2-ci-py312": ["tests/test_cli.py", "tests/classification/test_training.py"],
    "all-tasks-csv-team4-noci-py310": None,
    "csv-detection-kitti-py311": None,
    "tensorboard-detection-coco-py312": None,
    "csv-qa-squad1-noci-py310": None,
    "wandb-qa-squad2-ci-py311": None,
    "wandb-speech-ci-py312": None,
}
# Heavy tests are shared across answer sets: the all-task render runs every one of them; a
# single-task render repeats only those whose code its data-set answer changes.
ALL_TASKS_SET = "all-tasks-csv-team4-noci-py310"
# The multi-process (DDP) tests, about a minute each: the metric states gathered across
# processes differ for KITTI (all tasks renders COCO) and SQuAD v2.0 (null odds; v1.1 there).
DISTRIBUTED_RUN_IN = {ALL_TASKS_SET, "csv-detection-kitti-py311", "wandb-qa-squad2-ci-py311"}
# The tests marked `compile` (AOTInductor .pt2 packages: C++ compiles of a minute on 2 cores).
COMPILE_RUN_IN = {ALL_TASKS_SET}
# The rendered tests that train in subprocesses (comparison, search) do not depend on the
# logger or the team; they run where the wandb logger is chosen, and are deselected elsewhere.
SUBPROCESS_TESTS = [
    "tests/test_compare.py::test_compare_two_variants_on_the_sample_then_resume",
    "tests/test_compare.py::test_three_trial_search_on_the_sample",
    "tests/test_compare.py::test_two_fold_compare_reports_mean_and_std_per_variant",
]
SUBPROCESS_TESTS_RUN_IN = "wandb-team4-noci-py312"
# Folders and files that belong to one task: rendered exactly when it is chosen.
TASK_FILES = {
    task: [
        f"src/render_test/tasks/{folder}",
        f"tests/{folder}",
        f"configs/{folder}/sample.yaml",
        f"configs/compare/{folder}",
    ]
    for task, folder in [
        ("image_classification", "classification"),
        ("object_detection", "detection"),
        ("question_answering", "qa"),
        ("speech_recognition", "asr"),
    ]
}
TASK_FILES["image_classification"].append("configs/search/classification.yaml")
# Names only one task's code uses: a project without the task mentions none of them.
TASK_MARKERS = {
    "image_classification": ["ImageClassifier", "ImageFolderDataModule"],
    "object_detection": ["ObjectDetector", "KittiDataModule", "CocoDataModule"],
    "question_answering": ["QuestionAnsweringModel", "SquadDataModule"],
    "speech_recognition": ["SpeechRecognitionModel", "LibriSpeechDataModule"],
}
# Jinja left in a rendered file; `${{ ... }}` is GitHub Actions syntax, not Jinja.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|\{#")


@pytest.fixture(scope="module", params=sorted(ANSWER_SETS))
def project(request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory) -> Path:
    destination = tmp_path_factory.mktemp(request.param, numbered=False) / "project"
    render(template_repo, destination, project_name="Render Test", **ANSWER_SETS[request.param])
    return destination


def run(project: Path, *command: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=project, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_no_template_syntax_is_left(project: Path) -> None:
    files = [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert not [p for p in files if p.suffix == ".jinja"]
    leftovers = [p for p in files if LEFTOVER_JINJA.search(p.read_text(errors="replace"))]
    assert not leftovers


def test_ruff_is_clean(project: Path) -> None:
    ruff = str(Path(sys.executable).with_name("ruff"))
    for command in ([ruff, "check", "."], [ruff, "format", "--check", "."]):
        result = run(project, *command)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_project_holds_no_code_of_the_tasks_not_chosen(project: Path) -> None:
    chosen = ANSWER_SETS[project.parent.name].get("tasks", ["image_classification"])
    files = [p for p in project.rglob("*.py") if ".git" not in p.parts]
    files += list((project / "configs").rglob("*.yaml"))
    for task, markers in TASK_MARKERS.items():
        pattern = re.compile("|".join(markers))
        found = sorted(str(p.relative_to(project)) for p in files if pattern.search(p.read_text()))
        assert bool(found) == (task in chosen), (task, found)


def test_gitignore_keeps_secrets_weights_and_outputs_out(project: Path, tmp_path: Path) -> None:
    # check-ignore needs a repository: an empty one holding the rendered .gitignore.
    run(tmp_path, "git", "init", "-q")
    (tmp_path / ".gitignore").write_text((project / ".gitignore").read_text())
    ignored = [
        ".env", ".env.local", ".env.production.local", "prod.env", ".envrc",
        "exports/detection/python_part.pt", "weights/model.pth", "hub/model.safetensors",
        "outputs/predictions.json", "logs/run/version_0/checkpoints/last.ckpt", "model.onnx",
        "data/kitti/label_2/000000.txt",
    ]  # fmt: skip
    kept = [".env.example", "configs/classification/sample.yaml", "src/render_test/cli.py"]
    result = run(tmp_path, "git", "check-ignore", "--no-index", "--", *ignored, *kept)
    assert sorted(result.stdout.split()) == sorted(ignored), result.stdout + result.stderr


def test_answers_shape_the_project(project: Path) -> None:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    chosen = ANSWER_SETS[project.parent.name]
    team = chosen.get("team_members", ["Your Name <you@example.com>"])
    assert answers["team_members"] == team
    assert (project / "docs" / "team_plan.md").exists() == (len(team) > 3)
    if len(team) > 3:
        plan = (project / "docs" / "team_plan.md").read_text()
        assert all(member.split(" <")[0] in plan for member in team)
    workflow = project / ".github" / "workflows" / "ci.yml"
    assert workflow.exists() == chosen["ci"]
    if chosen["ci"]:
        steps = yaml.safe_load(workflow.read_text())["jobs"]["test"]["steps"]
        python = next(
            s["with"]["python-version"] for s in steps if "setup-python" in s.get("uses", "")
        )
        assert python == chosen["python_version"]
        assert any("pytest" in s.get("run", "") for s in steps)
    assert ("wandb_project" in answers) == (chosen["logger"] == "wandb")
    license_answer = chosen.get("license", "MIT")
    assert (project / "LICENSE").exists() == (license_answer != "none")
    pyproject = (project / "pyproject.toml").read_text()
    assert f'requires-python = ">={chosen["python_version"]}"' in pyproject
    assert f'target-version = "py{chosen["python_version"].replace(".", "")}"' in pyproject
    for member in team:
        assert member.split("<")[1].rstrip(">") in pyproject  # authors carry the emails
    tasks = chosen.get("tasks", ["image_classification"])
    config_dirs = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["task_config_dirs"]
    shared = {"debug", "compare", "search", "trainer"}
    rendered = {p.name for p in (project / "configs").iterdir() if p.name not in shared}
    assert rendered == {config_dirs["default"][task] for task in tasks}
    assert answers.get("qa_dataset") == chosen.get("qa_dataset")
    if "question_answering" in tasks:
        sample = (project / "configs" / "qa" / "sample.yaml").read_text()
        version = {"squad_v1": "v1.1", "squad_v2": "v2.0"}[chosen["qa_dataset"]]
        assert f"val_file: dev-{version}.json" in sample
    assert answers["tasks"] == tasks
    assert ("detection_dataset" in answers) == ("object_detection" in tasks)
    for task, paths in TASK_FILES.items():
        for path in paths:
            assert (project / path).exists() == (task in tasks), path
    if "object_detection" in tasks:
        dataset = chosen.get("detection_dataset", "kitti")  # the default
        assert answers["detection_dataset"] == dataset
        experiments = sorted(p.name for p in (project / "configs" / "detection").glob("*.yaml"))
        expected = [f"{dataset}_pretrained.yaml", f"{dataset}_rtdetr.yaml", "sample.yaml"]
        assert experiments == expected
        sample = yaml.safe_load((project / "configs" / "detection" / "sample.yaml").read_text())
        assert sample["data"]["class_path"].endswith(
            f".tasks.detection.{dataset}.{dataset.capitalize()}DataModule"
        )
        assert '"pycocotools>=' in (project / "pyproject.toml").read_text()
    check_team_documents(project, chosen, team, tasks)
    readme = (project / "README.md").read_text()
    assert ("## Object detection" in readme) == ("object_detection" in tasks)
    assert ("## Image classification" in readme) == ("image_classification" in tasks)
    assert ("## Question answering" in readme) == ("question_answering" in tasks)
    assert ("## Speech recognition" in readme) == ("speech_recognition" in tasks)
    assert ('"soundfile>=' in pyproject) == ("speech_recognition" in tasks)
    logger_package = {"wandb": '"wandb>=', "tensorboard": '"tensorboard>=', "csv": None}
    for logger, requirement in logger_package.items():
        if requirement:
            assert (requirement in pyproject) == (chosen["logger"] == logger)


def check_team_documents(project: Path, chosen: dict, team: list[str], tasks: list[str]) -> None:
    """proposal, report and presentation outlines carry the answers they were made from."""
    names = [member.split(" <")[0] for member in team]
    documents = {
        name: (project / "docs" / f"{name}.md").read_text()
        for name in ("proposal", "report", "presentation")
    }
    for text in documents.values():
        assert text.startswith("# Render Test: ")
        assert all(name in text for name in names)
    proposal = documents["proposal"]
    assert "A PyTorch Lightning project." in proposal  # the description
    for task, title in (
        ("image_classification", "Image classification"),
        ("object_detection", "Object detection"),
        ("question_answering", "Question answering"),
    ):
        assert (f"**{title}:**" in proposal) == (task in tasks)
    if "object_detection" in tasks:
        dataset = chosen.get("detection_dataset", "kitti")
        assert f"configs/detection/{dataset}_pretrained.yaml" in proposal
        assert ("KITTI 2D AP" in proposal) == (dataset == "kitti")
    if "question_answering" in tasks:
        version = {"squad_v1": "v1.1", "squad_v2": "v2.0"}[chosen["qa_dataset"]]
        assert f"SQuAD {version}" in proposal
    config_dirs = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["task_config_dirs"]
    for task in tasks:
        folder = config_dirs["default"][task]
        assert f"analyze --config configs/{folder}/sample.yaml" in documents["report"]
    assert ("Weights & Biases" in documents["presentation"]) == (chosen["logger"] == "wandb")


def test_tests_are_collected(project: Path) -> None:
    result = run(project, sys.executable, "-m", "pytest", "--collect-only", "-q")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"(\d+) tests? collected", result.stdout)


@pytest.mark.slow
def test_project_test_suite_passes(project: Path) -> None:
    if project.parent.name not in FULL_TESTS:
        pytest.skip("render, lint and collect only for this answer set")
    name = project.parent.name
    skipped = [] if name in COMPILE_RUN_IN else ["compile"]
    if name not in DISTRIBUTED_RUN_IN:
        skipped.append("distributed")
    deselect = ["-m", " and ".join(f"not {marker}" for marker in skipped)] if skipped else []
    if name != SUBPROCESS_TESTS_RUN_IN:
        deselect += [f"--deselect={test}" for test in SUBPROCESS_TESTS]
    files = FULL_TESTS[project.parent.name] or []
    pytest_command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = run(project, *pytest_command, *files, *deselect, timeout=2400)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_test_extra_installs_what_rendered_projects_need(project: Path) -> None:
    # The rendered test suites run with this interpreter, so every dependency a project
    # declares (its extras included) must come with this repository's `test` extra.
    if project.parent.name != "all-tasks-csv-team4-noci-py310":  # every task: the widest set
        pytest.skip("checked once, on the answer set with every task")
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    rendered = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    own_name = _requirement_name(rendered["name"])
    needed = {_requirement_name(r) for r in rendered["dependencies"]}
    for extra in rendered["optional-dependencies"].values():
        needed |= {_requirement_name(r) for r in extra}
    ours = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    available = {_requirement_name(r) for r in ours["optional-dependencies"]["test"]}
    available |= {_requirement_name(r) for r in ours.get("dependencies", [])}
    missing = needed - available - {own_name, "pre-commit"}  # pre-commit: a git hook tool
    assert not missing, f"add to the test extra of pyproject.toml: {sorted(missing)}"
