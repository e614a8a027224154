"""The README's main job: render with the defaults and train on the built-in sample data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import render


@pytest.mark.slow
def test_sample_run_reaches_90_percent_validation_accuracy(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "my-project")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "train.py", "fit", "-c", "configs/classification/sample.yaml"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-5000:]
    record = json.loads(
        (project / "logs" / "classification-sample" / "version_0" / "metrics.json").read_text()
    )
    print(f"sample run: val/acc {record['metrics']['val/acc']:.4f} in {seconds:.0f} s")
    assert record["status"] == "finished" and record["epoch"] == 8
    assert record["metrics"]["val/acc"] >= 0.90
    assert len(list((project / "data" / "digits").rglob("*.png"))) == 1797
