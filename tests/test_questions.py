"""copier.yml: defaults, derived values, and every validator refusing bad answers."""

from __future__ import annotations

import importlib.metadata
import keyword
import re
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT, render

QUESTIONS = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())


def test_every_question_has_help() -> None:
    asked = {
        name: spec
        for name, spec in QUESTIONS.items()
        if not name.startswith("_") and spec.get("when") is not False
    }
    assert set(asked) >= {
        "project_name",
        "package_name",
        "description",
        "team_members",
        "python_version",
        "tasks",
        "detection_dataset",
        "qa_dataset",
        "logger",
        "wandb_entity",
        "wandb_project",
        "ci",
        "license",
    }
    assert all(spec.get("help") for spec in asked.values())


def test_reserved_names_cover_this_pythons_standard_library() -> None:
    reserved = set(QUESTIONS["reserved_package_names"]["default"])
    stdlib = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    assert stdlib <= reserved, sorted(stdlib - reserved)
    assert {"torch", "lightning", "timm", "transformers", "torchvision"} <= reserved


# Distributions whose import names differ from their names, for when they are not installed
# here (installed ones are read from their metadata).
IMPORT_NAMES = {
    "pillow": {"PIL"},
    "scikit-learn": {"sklearn"},
    "pyyaml": {"yaml"},
    "pre-commit": {"pre_commit"},
    "pytest": {"pytest", "py"},
    "pytest-xdist": {"xdist"},
    "matplotlib": {"matplotlib", "mpl_toolkits", "pylab"},
    "torch": {"torch", "functorch", "torchgen"},
    "setuptools": {"setuptools", "pkg_resources"},
}
# Top-level folders some wheels install that hold no Python (soundfile's license notes): a
# package of that name shadows nothing.
NOT_MODULES = {"licensing"}
REQUIREMENT = re.compile(r'"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*[<>=!~]')


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _import_names(distribution: str) -> set[str]:
    installed: set[str] = set()
    for name, owners in importlib.metadata.packages_distributions().items():
        if distribution in {_normalized(owner) for owner in owners}:
            installed.add(name)
    names = installed or IMPORT_NAMES.get(distribution, {distribution.replace("-", "_")})
    # A name no package answer can take (mypy's compiled "<hash>__mypyc") shadows nothing.
    possible = re.compile(r"[a-z][a-z0-9_]*$")
    return {
        name
        for name in names
        if not name.startswith("_") and name not in NOT_MODULES and possible.match(name.lower())
    }


def test_reserved_names_cover_every_dependency_of_the_rendered_project() -> None:
    # Every requirement of every task, logger and extra (and the build's), as written in the
    # template: a dependency added there without its import name here fails this test.
    text = (REPO_ROOT / "template" / "pyproject.toml.jinja").read_text()
    distributions = {_normalized(match[1]) for match in REQUIREMENT.finditer(text)}
    assert {"torch", "soundfile", "pycocotools", "optuna", "peft", "setuptools"} <= distributions
    reserved = set(QUESTIONS["reserved_package_names"]["default"])
    missing = {
        f"{distribution}: {sorted(_import_names(distribution) - reserved)}"
        for distribution in sorted(distributions)
        if _import_names(distribution) - reserved
    }
    assert not missing, sorted(missing)


def test_python_keywords_are_refused_but_soft_keywords_are_not() -> None:
    refused = set(QUESTIONS["python_keywords"]["default"])
    # Lower-case only: the package name pattern already refuses False, None and True.
    assert refused == {word for word in keyword.kwlist if word.islower()}
    # Soft keywords are keywords only inside match / type statements: `import match` works.
    assert not refused & set(keyword.softkwlist)


def test_package_name_is_derived_from_the_project_name(template_repo: Path, tmp_path: Path) -> None:
    out = render(template_repo, tmp_path / "p", project_name="Pedestrian Detection on KITTI!")
    answers = yaml.safe_load((out / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "pedestrian_detection_on_kitti"
    assert (out / "src" / "pedestrian_detection_on_kitti" / "cli.py").is_file()


INVALID = [
    ({"package_name": "torch"}, "would shadow"),
    ({"package_name": "json"}, "would shadow"),
    ({"package_name": "soundfile"}, "would shadow"),
    ({"package_name": "class"}, 'is a Python keyword.*e.g. "class_project"'),
    ({"package_name": "3d_vision"}, "is not a valid package name"),
    ({"package_name": "My-Project"}, "is not a valid package name"),
    ({"project_name": "   "}, "at least one letter"),
    ({"team_members": []}, "1 to 4 members"),
    ({"team_members": [f"P{i} <p{i}@uni.edu>" for i in range(5)]}, "1 to 4 members; you gave 5"),
    ({"team_members": ["Ada Lovelace"]}, 'is not "Name <email>"'),
    ({"team_members": ["Ada <ada-at-uni.edu>"]}, 'is not "Name <email>"'),
    ({"team_members": "Ada Lovelace <ada@uni.edu>"}, "Type a YAML list"),
    ({"tasks": []}, "Select at least one task"),
    ({"logger": "wandb", "wandb_project": "my project"}, "A project name uses letters"),
    ({"logger": "wandb", "wandb_entity": "team/7"}, "An entity is a user or team name"),
]


@pytest.mark.parametrize(("answers", "message"), INVALID, ids=[str(a) for a, _ in INVALID])
def test_invalid_answers_are_refused_with_the_fix(
    template_repo: Path, tmp_path: Path, answers: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render(template_repo, tmp_path / "p", **answers)
    assert not (tmp_path / "p" / "pyproject.toml").exists()


@pytest.mark.parametrize(("question", "value"), [("python_version", "2.7"), ("logger", "mlflow")])
def test_answers_outside_the_choices_are_refused(
    template_repo: Path, tmp_path: Path, question: str, value: str
) -> None:
    with pytest.raises(ValueError, match="Invalid choice"):
        render(template_repo, tmp_path / "p", **{question: value})


def test_qa_dataset_outside_its_choices_is_refused(template_repo: Path, tmp_path: Path) -> None:
    # That it is asked (and recorded) only with question answering: test_render's answers check.
    with pytest.raises(ValueError, match="Invalid choice for 'qa_dataset'"):
        render(template_repo, tmp_path / "p", tasks=["question_answering"], qa_dataset="squad_v3")
