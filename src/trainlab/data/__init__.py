"""Datasets: 2-D toy generators, transforms fitted on train, and the MNIST family.

See docs/data.md for every dataset, parameter, source and the lab protocol.
"""
from trainlab.data.idx import read_idx, write_idx
from trainlab.data.images import IMAGE_DATASETS, ImageData, lab_split, load_image_dataset
from trainlab.data.toy import TOY_GENERATORS, Dataset, Split, make_toy
from trainlab.data.transforms import TRANSFORMS, apply_transforms, make_transform

__all__ = [
    "IMAGE_DATASETS",
    "TOY_GENERATORS",
    "TRANSFORMS",
    "Dataset",
    "ImageData",
    "Split",
    "apply_transforms",
    "lab_split",
    "load_image_dataset",
    "make_toy",
    "make_transform",
    "read_idx",
    "write_idx",
]
