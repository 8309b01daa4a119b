"""automl_engine: train, rank, explain and save many models on one table.

A library first: no Django, Celery or Plotly. See ``AutoML`` and ``load_model``.
"""
from .automl import AutoML
from .errors import DataError
from .io import read_csv
from .model import TrainedModel
from .model_file import load_model, save_model

__all__ = ["AutoML", "DataError", "load_model", "save_model", "read_csv", "TrainedModel", "load_libraries"]
__version__ = "0.2.0"


def load_libraries() -> None:
    """Import the model libraries now. A run imports what it needs when it first needs it, which
    delays the first model of a fresh process by a few tenths of a second; a worker calls this at start."""
    import importlib

    for name in ("lightgbm", "catboost"):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - both are in requirements.txt
            pass
