"""The detection demo: the boxes found on an image in the app, and the real-time test."""

from __future__ import annotations

from pathlib import Path

from ..demo_checks import check_latency, check_realtime, demo_app


def test_the_app_shows_the_boxes_and_the_latency(
    tiny_exports: dict[str, Path], kitti_root: Path
) -> None:
    app, predictor = demo_app(tiny_exports["detection"] / "model.onnx")
    folder = next(kitti_root.rglob("image_2"))
    image = next(p for p in sorted(folder.iterdir()) if p.suffix == ".png")
    shown, latency = app(str(image), api_name="predict")
    # The image with one annotation per box, labelled "class score".
    assert "image" in shown and isinstance(shown["annotations"], list)
    for annotation in shown["annotations"]:
        assert annotation["label"].rsplit(" ", 1)[0]
    check_latency(predictor, latency)


def test_realtime_test_reports_throughput_and_percentiles(
    tiny_checkpoints: dict[str, Path], kitti_root: Path, tmp_path: Path
) -> None:
    check_realtime(tiny_checkpoints["detection"], next(kitti_root.rglob("image_2")), tmp_path)
