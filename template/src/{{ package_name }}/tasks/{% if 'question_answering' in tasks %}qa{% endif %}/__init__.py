"""Extractive question answering: SQuAD v1.1 / v2.0 questions in, answer spans out.

Everything only this task knows lives in this folder: the data (``squad``), the model
(``model``), the official evaluation (``squad_metric``) and its file scorer (``squad_files``),
the answers page, its export, demo, data-set analysis and sample data.
"""

from dataclasses import replace

from ...task import Link, Task
from . import analysis, demo, export, int8_benchmark, sample, squad_files
from .model import QuestionAnsweringModel
from .squad import SquadDataModule

TASK = Task(
    name="qa",
    module_class=QuestionAnsweringModel,
    datamodule_classes=(SquadDataModule,),
    links=(
        # The tokenizer sizes a model trained from scratch, and the data files say whether
        # unanswerable questions are scored (SQuAD v2.0).
        Link("data.vocab_size", "model.init_args.vocab_size", "instantiate"),
        Link("data.squad_version", "model.init_args.squad_version", "instantiate"),
    ),
    # The spec and its own benchmark (`benchmark int8`, which reads the spec).
    export=replace(export.EXPORT, benchmarks=(int8_benchmark.add_benchmark_command,)),
    demo=demo.DEMO,
    analyze=analysis.analyze,
    samples=sample.SAMPLES,
    score_commands=(squad_files.SCORER,),
)
