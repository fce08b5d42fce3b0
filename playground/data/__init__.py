"""Data layer: toy generators, CSV reading, tabular datasets. Numbers only, never Qt."""

from playground.data.build import build_dataset, resolve_data_path
from playground.data.csv_reader import Column, Table, read_csv_table
from playground.data.dataset import Dataset, FeaturePipeline
from playground.data.tabular import make_tabular_dataset
from playground.data.toy import FEATURE_TRANSFORMS, TOY_DATASETS

__all__ = [
    "FEATURE_TRANSFORMS",
    "TOY_DATASETS",
    "Column",
    "Dataset",
    "FeaturePipeline",
    "Table",
    "build_dataset",
    "make_tabular_dataset",
    "read_csv_table",
    "resolve_data_path",
]
