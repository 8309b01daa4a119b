"""A model's export (a zip to use it without the app) and its card (one page to read or print)."""
import io
import json
import subprocess
import sys
import zipfile

import lightgbm
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from automl_engine import load_model
from webapp.core import runs
from webapp.core.wording import number
from tests.helpers import synthetic

pytestmark = pytest.mark.django_db


def finished(api) -> tuple[int, str, pd.DataFrame]:
    frame = synthetic("binary", n=240)
    content = frame.to_csv(index=False).encode()
    dataset_id = api.post("/api/datasets/", {"file": SimpleUploadedFile("d.csv", content)}).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "max_models": 2, "nfolds": 2, "test_split": 0.2}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    return experiment_id, api.get(f"/api/experiments/{experiment_id}/").json()["leader"], frame


def test_the_export_runs_without_the_app(owner_api, other_api, tmp_path):
    experiment_id, leader, frame = finished(owner_api)
    url = f"/api/experiments/{experiment_id}/models/{leader}/export/"
    assert other_api.get(url).status_code == 404
    response = owner_api.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert f"{experiment_id}_{leader}_export.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content) if response.streaming
                                         else response.content))
    names = set(archive.namelist())
    assert names == {f"{experiment_id}_{leader}.automl", "model.onnx", "requirements.txt", "README.md",
                     "example_row.json", "example.csv", "model_card.html"}
    archive.extractall(tmp_path)
    pins = (tmp_path / "requirements.txt").read_text()
    assert f"lightgbm=={lightgbm.__version__}" in pins and "xgboost-cpu==" in pins  # XGBoost without GPU libraries
    readme = (tmp_path / "README.md").read_text()
    assert f"/api/experiments/{experiment_id}/models/{leader}/predict/" in readme and "load_model" in readme
    row = json.loads((tmp_path / "example_row.json").read_text())
    assert set(row) == {"x1", "x2", "colour"}  # the model's columns, not the target
    model = load_model(tmp_path / f"{experiment_id}_{leader}.automl")
    from_file = model.predict(pd.read_csv(tmp_path / "example.csv"))
    answer = owner_api.post(f"/api/experiments/{experiment_id}/models/{leader}/predict/",
                            json.dumps({"rows": [row]}), content_type="application/json").json()
    assert from_file["predict"][0] == answer["predictions"][0]["predict"]  # the same model, in or out of the app
    assert "How good it is" in (tmp_path / "model_card.html").read_text()
    # the README's ONNX code runs with onnxruntime alone (the engine cannot be imported there)
    code = readme.split("## ONNX")[1].split("## In Python")[0]
    code = "\n".join(line[4:] for line in code.splitlines() if line.startswith("    ") and "pip install" not in line)
    script = code.replace("print(dict(zip(names, session.run(None, feed))))",
                          "out = dict(zip(names, session.run(None, feed)))\n"
                          "import json, sys\nassert 'automl_engine' not in sys.modules\n"
                          "print(json.dumps({'predict': [str(v) for v in out['predict']],"
                          " 'p': out['probabilities'].tolist()}))")
    (tmp_path / "run_onnx.py").write_text(script)
    ran = subprocess.run([sys.executable, "-I", "run_onnx.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr
    onnx_answer = json.loads(ran.stdout)
    assert onnx_answer["predict"] == [str(from_file["predict"][0])]
    classes = [str(c) for c in model.classes]
    assert onnx_answer["p"][0] == pytest.approx([from_file[c][0] for c in classes], rel=1e-5)


def test_the_card_says_what_the_model_is_good_for_and_not(owner_api, client, owner, other_user):
    experiment_id, leader, frame = finished(owner_api)
    client.force_login(owner)
    page = client.get(f"/experiments/{experiment_id}/models/{leader}/card/")
    html = page.content.decode()
    assert page.status_code == 200 and "<script" not in html  # static: prints and works offline
    for section in ("card-question", "card-data", "card-quality", "card-drivers", "card-ranking", "card-limits",
                    "card-use"):
        assert f'id="{section}"' in html, section
    assert "predicts <strong>y</strong>" in html and "On the test rows kept aside" in html
    x1 = pd.to_numeric(frame["x1"]).dropna()
    assert f"from {number(x1.min())} to {number(x1.max())}" in html  # the range it has seen
    assert all(c in html for c in frame["colour"].dropna().unique())  # the categories it has seen
    download = client.get(f"/experiments/{experiment_id}/models/{leader}/card/?download=1")
    assert "attachment" in download["Content-Disposition"]
    model_page = client.get(f"/experiments/{experiment_id}/models/{leader}/").content.decode()
    assert 'id="model-export"' in model_page and 'id="model-card-link"' in model_page
    client.force_login(other_user)
    assert client.get(f"/experiments/{experiment_id}/models/{leader}/card/").status_code == 404
    assert client.get(f"/experiments/{experiment_id}/models/{leader}/export/").status_code == 404


def test_a_model_without_an_onnx_form_says_why_and_keeps_the_python_file(owner_api, monkeypatch):
    from automl_engine.onnx_export import NotConvertible
    from webapp.core import model_card

    def refuse(model, frame):
        raise NotConvertible("the model X has no ONNX form here")

    monkeypatch.setattr(model_card, "checked_onnx", refuse)
    experiment_id, leader, _ = finished(owner_api)
    response = owner_api.get(f"/api/experiments/{experiment_id}/models/{leader}/export/")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert "model.onnx" not in names and f"{experiment_id}_{leader}.automl" in names
    why = archive.read("ONNX_NOT_INCLUDED.txt").decode()
    assert "the model X has no ONNX form here" in why
    assert "the model X has no ONNX form here" in archive.read("README.md").decode()
