"""automl_engine: train, rank, explain and save many models on one table.

A library first: no Django, Celery or Plotly. See ``AutoML`` and ``load_model``.
"""
from .automl import AutoML
from .errors import DataError
from .io import read_csv
from .model import TrainedModel, load_libraries
from .model_file import load_model, save_model

__all__ = ["AutoML", "DataError", "load_model", "save_model", "read_csv", "TrainedModel", "load_libraries"]
__version__ = "0.2.0"

