"""The engine installs as a package: a model file trained here loads and predicts outside this repository."""
import shutil
import subprocess
import sys
import zipfile

import pandas as pd

from automl_engine import AutoML, __version__
from tests.helpers import ROOT, synthetic
from webapp.core.model_pages import install_line


def test_the_wheel_holds_the_engine_and_a_model_predicts_from_it_outside_the_repository(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the repository
    shutil.copytree(ROOT / "automl_engine", source / "automl_engine", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel, = (tmp_path / "dist").glob("automl_engine-*.whl")
    assert f"-{__version__}-" in wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "automl_engine/automl.py" in names and "automl_engine/families/gbm.py" in names
    assert not any(n.startswith(("webapp/", "worker/", "tests/", "bench/")) for n in names)

    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    frame = synthetic("binary", n=200)
    aml = AutoML(max_models=1, nfolds=2, seed=1).fit(frame, "y")
    aml.save_model(tmp_path / "model.automl")
    frame.drop(columns=["y"]).to_csv(tmp_path / "new.csv", index=False)
    script = ("import automl_engine, pandas as pd\n"
              "assert 'site' in automl_engine.__file__, automl_engine.__file__\n"
              "m = automl_engine.load_model('model.automl')\n"
              "print(m.predict(pd.read_csv('new.csv')).to_csv(index=False))\n")
    # from a folder outside the repository, with only the installed package on the path for the engine
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    predictions = pd.read_csv(__import__("io").StringIO(run.stdout))
    assert len(predictions) == 200 and {"predict", "yes", "no"} <= set(predictions.columns)


def test_the_install_line_pins_the_libraries_that_trained_the_model():
    line = install_line({"numpy": "2.3.4", "pandas": "2.3.3", "scikit-learn": "1.7.2", "lightgbm": "4.6.0",
                         "xgboost": "2.1.4", "python": "3.11.7"})
    # XGBoost by the package without GPU libraries
    assert line == ("pip install /path/to/automl numpy==2.3.4 pandas==2.3.3 scikit-learn==1.7.2 lightgbm==4.6.0 "
                    "xgboost-cpu==2.1.4")
    assert "scikit-learn==" in install_line({}) and "xgboost-cpu==" in install_line({})  # older runs: this app's own
