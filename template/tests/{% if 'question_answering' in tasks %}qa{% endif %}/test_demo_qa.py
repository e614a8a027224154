"""The question-answering demo: the answer highlighted in its context in the app, and the
real-time test over a SQuAD file's questions."""

from __future__ import annotations

from pathlib import Path

from ..demo_checks import check_latency, check_realtime, demo_app


def test_the_app_highlights_the_answer_and_shows_the_latency(
    tiny_exports: dict[str, Path],
) -> None:
    app, predictor = demo_app(tiny_exports["qa"] / "model.onnx")
    context = "Ada lives in Paris. She keeps bees on the roof."
    pieces, latency = app(context, "Where does Ada live?", api_name="answer")
    assert "".join(p["token"] for p in pieces).startswith(context)
    assert {p["class_or_confidence"] for p in pieces} & {"answer", "no answer"}
    check_latency(predictor, latency)


def test_realtime_test_reports_throughput_and_percentiles(
    tiny_checkpoints: dict[str, Path], squad_root: Path, tmp_path: Path
) -> None:
    check_realtime(tiny_checkpoints["qa"], next(squad_root.glob("dev-*.json")), tmp_path)
