"""The classification demo: an image's top classes in the app, and the real-time test."""

from __future__ import annotations

from pathlib import Path

from ..demo_checks import check_latency, check_realtime, demo_app


def test_the_app_shows_the_top_classes_and_the_latency(
    tiny_exports: dict[str, Path], digits_root: Path
) -> None:
    app, predictor = demo_app(tiny_exports["classification"] / "model.onnx")
    folder = digits_root / "val"
    image = next(p for p in sorted(folder.rglob("*")) if p.suffix == ".png")
    shown, latency = app(str(image), api_name="predict")
    class_names = {class_folder.name for class_folder in folder.iterdir()}
    assert {c["label"] for c in shown["confidences"]} <= class_names
    confidences = [c["confidence"] for c in shown["confidences"]]
    assert shown["label"] == shown["confidences"][0]["label"]
    assert confidences == sorted(confidences, reverse=True)
    check_latency(predictor, latency)


def test_realtime_test_reports_throughput_and_percentiles(
    tiny_checkpoints: dict[str, Path], digits_root: Path, tmp_path: Path
) -> None:
    check_realtime(tiny_checkpoints["classification"], digits_root / "val", tmp_path)
