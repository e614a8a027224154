"""Object detection: KITTI or COCO images in, boxes with classes and scores out.

Everything only this task knows lives in this folder: the data (``kitti``, ``coco``), the
model (``model``), the official evaluations (``kitti_metric``, ``coco_metric``) and their
file scorers (``kitti_files``, ``coco_files``), its export, demo, data-set analysis and sample
data.
"""

from ...task import Link, Task
from . import analysis, coco_files, demo, export, kitti_files, sample
from .coco import CocoDataModule
from .kitti import KittiDataModule
from .model import ObjectDetector

TASK = Task(
    name="detection",
    module_class=ObjectDetector,
    datamodule_classes=(KittiDataModule, CocoDataModule),
    links=(
        # The data pipeline resizes images to the size the detector works at, and the data's
        # format decides the evaluation (KITTI or COCO) and COCO's category ids.
        Link("model.init_args.min_size", "data.init_args.min_size"),
        Link("model.init_args.max_size", "data.init_args.max_size"),
        Link("data.evaluation", "model.init_args.evaluation", "instantiate"),
        Link("data.category_ids", "model.init_args.category_ids", "instantiate"),
    ),
    export=export.EXPORT,
    demo=demo.DEMO,
    analyze=analysis.analyze,
    samples=sample.SAMPLES,
    score_commands=(kitti_files.SCORER, coco_files.SCORER),
)
