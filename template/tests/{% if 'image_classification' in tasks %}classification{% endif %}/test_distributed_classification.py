"""Image classification under DDP: validation on two processes equals one process's (an odd
image count included), and a run resumes across process counts in the same run folder.

Run ``train.py`` in a subprocess: Lightning starts the second process by running the same
command again, which it cannot do from inside pytest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..test_distributed import DDP_CPU, train_py
from .fixtures import SAMPLE_CONFIG, tiny_args


@pytest.fixture
def odd_digits(digits_root: Path, tmp_path: Path) -> Path:
    """The test digits with one validation image removed: an odd count, which two processes
    cannot share evenly (Lightning's default sampler would score one image twice)."""
    root = tmp_path / "digits"
    shutil.copytree(digits_root, root)
    sorted((root / "val").rglob("*.png"))[0].unlink()
    assert len(list((root / "val").rglob("*.png"))) % 2 == 1
    return root


def classification_args(data_root: Path, run_name: str, epochs: int) -> list[str]:
    return [
        "-c",
        str(SAMPLE_CONFIG),
        *tiny_args(data_root),
        "--data.init_args.batch_size=8",
        f"--trainer.max_epochs={epochs}",
        "--trainer.limit_train_batches=2",
        "--trainer.enable_progress_bar=false",
        "--run_name",
        run_name,
    ]


@pytest.mark.distributed
def test_ddp_validation_equals_one_process_and_resumes_in_one(
    odd_digits: Path, tmp_path: Path
) -> None:
    ddp = train_py(tmp_path, "fit", *classification_args(odd_digits, "ddp", 1), "-c", DDP_CPU)
    assert ddp["status"] == "finished"
    last = ddp["last_checkpoint"]
    single = train_py(
        tmp_path, "validate", *classification_args(odd_digits, "check", 1), "--ckpt_path", last
    )
    val = {k: v for k, v in ddp["metrics"].items() if k.startswith("val/")}
    assert set(val) >= {"val/loss", "val/acc", "val/f1"}
    for name, value in val.items():
        assert single["metrics"][name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    # The two-process checkpoint goes on in one process, in the same run folder.
    resumed = train_py(
        tmp_path, "fit", *classification_args(odd_digits, "ddp", 2), "--ckpt_path", "last"
    )
    assert resumed["status"] == "finished" and resumed["epoch"] == 2
    assert resumed["global_step"] == 2 * ddp["global_step"]
    assert Path(resumed["last_checkpoint"]).parent == Path(last).parent


@pytest.mark.distributed
def test_one_process_checkpoint_resumes_under_ddp(odd_digits: Path, tmp_path: Path) -> None:
    first = train_py(tmp_path, "fit", *classification_args(odd_digits, "one", 1))
    resumed = train_py(
        tmp_path,
        "fit",
        *classification_args(odd_digits, "one", 2),
        "-c",
        DDP_CPU,
        "--ckpt_path",
        "last",
    )
    assert resumed["status"] == "finished" and resumed["epoch"] == 2
    assert resumed["global_step"] == 2 * first["global_step"]
