"""Speech recognition: LibriSpeech audio in, transcripts out (CTC or sequence-to-sequence).

Everything only this task knows lives in this folder: the data (``librispeech``), the model
(``model``), the word and character error rates (``metric``) and their file scorer
(``metric_files``), the transcripts page, its export, demo, data-set analysis and sample data.
"""

from ...task import Link, Task
from . import analysis, demo, export, metric_files, sample
from .librispeech import LibriSpeechDataModule
from .model import SpeechRecognitionModel

TASK = Task(
    name="asr",
    module_class=SpeechRecognitionModel,
    datamodule_classes=(LibriSpeechDataModule,),
    links=(
        # The data pipeline uses the model's own feature extractor, and the model's output
        # layer is sized to the vocabulary of the training transcripts.
        Link("model.init_args.model_name", "data.init_args.model_name"),
        Link("model.init_args.config_overrides", "data.init_args.config_overrides"),
        Link("data.vocabulary", "model.init_args.vocabulary", "instantiate"),
    ),
    export=export.EXPORT,
    demo=demo.DEMO,
    analyze=analysis.analyze,
    samples=sample.SAMPLES,
    score_commands=(metric_files.SCORER,),
)
