"""The question-answering demo: a context and a question in, the answer highlighted in the
context out; ``--realtime`` reads a SQuAD JSON file (each question is one request)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...task import DemoSpec, TimedPredictor
from .features import QAFeatureDataset, collate, load_tokenizer, tokenize_for_evaluation
from .model import MODEL_INPUTS, WindowScores, postprocess
from .squad_json import QAExample, read_squad


def answer_questions(module: Any, data_settings: dict) -> Callable[[str, str], dict]:
    """(context, question) -> the answer: its text and first character ("" and -1: none)."""
    tokenizer_name = data_settings["tokenizer"]
    local = Path(data_settings["root"]) / tokenizer_name
    tokenizer = load_tokenizer(str(local) if local.exists() else tokenizer_name)
    h = module.hparams

    def predict(context: str, question: str) -> dict[str, Any]:
        example = QAExample("request", "", question, context, ())
        features = tokenize_for_evaluation(
            tokenizer, [example], data_settings["max_seq_length"], data_settings["doc_stride"]
        )
        dataset = QAFeatureDataset(features, [example])
        batch = collate([dataset[i] for i in range(len(dataset))])
        output = module.model(**{name: batch[name] for name in MODEL_INPUTS if name in batch})
        windows = [
            WindowScores("request", context, start, end, offsets)
            for start, end, offsets in zip(
                output.start_logits.float().numpy(),
                output.end_logits.float().numpy(),
                batch["offsets"].numpy(),
                strict=True,
            )
        ]
        answer = postprocess(
            windows, h.squad_version, h.n_best, h.max_answer_length, h.null_score_diff_threshold
        )["request"]
        return {"text": answer.text, "start": answer.start}

    return predict


def highlighted(context: str, answer: dict) -> list[tuple[str, str | None]]:
    """The context as (text, label) pieces with the answer labelled, for HighlightedText."""
    if answer["start"] < 0 or not answer["text"]:
        return [(context, None), ("  (no answer in this context)", "no answer")]
    start, end = answer["start"], answer["start"] + len(answer["text"])
    return [(context[:start], None), (context[start:end], "answer"), (context[end:], None)]


def page(predictor: TimedPredictor, latency: Any) -> None:
    """A context and a question; the answer highlighted in the context."""
    import gradio as gr

    context = gr.Textbox(label="Context", lines=6)
    question = gr.Textbox(label="Question")
    ask = gr.Button("Answer")
    answer = gr.HighlightedText(label="Answer in its context")

    def respond(context_text: str, question_text: str) -> tuple:
        found = predictor(context_text, question_text)
        return highlighted(context_text, found), predictor.last

    ask.click(respond, [context, question], [answer, latency], api_name="answer")


def squad_questions(path: Path) -> list[tuple[str, str]]:
    """Every question of a SQuAD JSON file (or of the ``*.json`` files of a folder), with its
    context, one request each."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    return [
        (example.context, example.question)
        for file in files
        for example in read_squad(file).examples
    ]


DEMO = DemoSpec(
    predictor=answer_questions,
    page=page,
    requests=squad_questions,
    inputs="a SQuAD JSON file, or a folder of them",
)
