"""Image classification: an image folder in, one class per image out.

Everything only this task knows lives in this folder: the data (``imagefolder``), the model
(``model``), its export, demo, data-set analysis and sample data.
"""

from ...task import Task
from . import analysis, demo, export, sample
from .imagefolder import ImageFolderDataModule
from .model import ImageClassifier

TASK = Task(
    name="classification",
    module_class=ImageClassifier,
    datamodule_classes=(ImageFolderDataModule,),
    export=export.EXPORT,
    demo=demo.DEMO,
    analyze=analysis.analyze,
    samples=sample.SAMPLES,
)
