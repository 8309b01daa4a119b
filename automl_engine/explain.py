"""Explanation data for any model, as plain lists and dicts (no plotting).

Performance views (residuals, confusion matrix, ROC and PR curves) are computed from
out-of-fold predictions when the caller has them, so they show how the model does on rows it did
not train on. Importance, SHAP and partial dependence use a sample of the given frame.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .families.gbm import booster_predict
from .model import EnsembleModel, TrainedModel

MAX_POINTS = 2000  # points kept in scatter-like outputs
PD_GRID = 20


def _sample(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    return frame if len(frame) <= n else frame.sample(n, random_state=seed)


def _score_vector(model: TrainedModel, raw: np.ndarray) -> np.ndarray:
    """One number per row that summarises a prediction (the value, or P(positive class))."""
    if model.task == "regression":
        return raw
    if model.task == "binary":
        return raw[:, 1]
    return raw


def _loss(model: TrainedModel, raw: np.ndarray, y: np.ndarray) -> float:
    if model.task == "regression":
        return float(np.mean((raw - y) ** 2))
    p = np.clip(raw[np.arange(len(y)), y.astype(int)], 1e-15, 1)
    return float(-np.mean(np.log(p)))


def variable_importance(model: TrainedModel, frame: pd.DataFrame, y: np.ndarray, max_rows: int = 500,
                        seed: int = 0) -> list[dict]:
    """Permutation importance on the raw columns: how much worse the model gets when a column is shuffled.

    Works for every model, ensembles included. Scaled so the most important column is 1.
    """
    idx = _sample(frame.reset_index(drop=True), max_rows, seed).index.to_numpy()
    X = frame.reset_index(drop=True).iloc[idx].reset_index(drop=True)
    y = np.asarray(y)[idx]
    base = _loss(model, model.predict_raw(X), y)
    rng = np.random.default_rng(seed)
    scores = []
    for feature in model.features:
        shuffled = X.copy()
        shuffled[feature] = X[feature].to_numpy()[rng.permutation(len(X))]
        scores.append(max(0.0, _loss(model, model.predict_raw(shuffled), y) - base))
    top = max(scores) or 1.0
    out = [{"feature": f, "importance": s / top, "raw": s} for f, s in zip(model.features, scores)]
    return sorted(out, key=lambda r: -r["importance"])


def _raw_column_groups(prep, model: TrainedModel) -> list[list[int]]:
    """Indices of a fitted tree-style preprocessor's outputs that come from each raw feature."""
    slices = prep.output_indices_
    per_column = {"num": 1, "bool": 1, "cat": 1}
    groups = {}
    for name, _, columns in prep.transformers_:
        if name not in slices or name == "remainder":
            continue
        start = slices[name].start
        # datetime parts: as many per column as the fitted transformer makes (older model files make fewer)
        width = (slices[name].stop - start) // max(1, len(columns)) if name == "dt" else per_column.get(name)
        for column in columns:
            if width is None:  # a text column: all of its word features
                groups[column] = list(range(slices[name].start, slices[name].stop))
            else:
                groups[column] = list(range(start, start + width))
                start += width
    return [groups.get(f, []) for f in model.features]


def _group_sums(contrib: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    return np.column_stack([contrib[:, g].sum(axis=1) if g else np.zeros(len(contrib)) for g in groups])


def _pipelines(model: TrainedModel) -> list:
    """The fitted pipelines behind a model (several when it averages its cross-validation folds)."""
    return list(getattr(model.estimator, "estimators", [model.estimator]))


def _tree_contributions(model: TrainedModel, X: pd.DataFrame, class_index: int) -> tuple[np.ndarray, float]:
    """Exact tree SHAP from the boosting library, averaged over the model's fold boosters, summed per raw column."""
    values, bases = [], []
    for pipe in _pipelines(model):
        booster = pipe.named_steps["model"]
        Z = np.asarray(pipe.named_steps["prep"].transform(X), dtype=float)
        contrib = booster.contributions(Z)
        width = Z.shape[1] + 1
        if model.task == "multiclass":
            contrib = contrib[:, class_index * width:(class_index + 1) * width]
        values.append(_group_sums(contrib, _raw_column_groups(pipe.named_steps["prep"], model)))
        bases.append(float(contrib[:, -1].mean()))
    return np.mean(values, axis=0), float(np.mean(bases))


def _surrogate_contributions(model: TrainedModel, X: pd.DataFrame, class_index: int, seed: int):
    """SHAP values of a LightGBM surrogate fit to the model's own predictions (for models without exact SHAP)."""
    from .families import BuildContext
    from .families.gbm import FAMILY as GBM
    from .schema import FeatureSpec

    kinds = model.feature_kinds
    spec = FeatureSpec(**{k: [f for f in model.features if kinds[f] == k]
                          for k in ("numeric", "boolean", "datetime", "categorical", "text")})
    raw = model.predict_raw(X)
    if model.task == "regression":
        target = raw
    else:  # explain the log-odds of the chosen class against the rest
        p = np.clip(raw[:, class_index], 1e-6, 1 - 1e-6)
        target = np.log(p / (1 - p))
    ctx = BuildContext(task="regression", spec=spec, n_rows=len(X), n_classes=0, seed=seed)
    pipe = GBM.build(ctx, {"learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 5})
    surrogate = pipe.named_steps["model"]
    surrogate.early_stopping_rounds, surrogate.n_estimators = 20, 300  # a quick stand-in, not a contender
    pipe.fit(X, target)
    Z = np.asarray(pipe.named_steps["prep"].transform(X), dtype=float)
    booster = pipe.named_steps["model"]
    contrib = booster_predict(booster, Z, pred_contrib=True)
    fidelity = float(skm.r2_score(target, booster.predict(Z)))
    values = _group_sums(contrib, _raw_column_groups(pipe.named_steps["prep"], model))
    return values, float(contrib[:, -1].mean()), fidelity


def shap_values(model: TrainedModel, frame: pd.DataFrame, max_rows: int = 300, class_index: int | None = None,
                seed: int = 0) -> dict:
    """SHAP contributions per row and raw column, on the model's raw output scale (log-odds for classes).

    LightGBM and XGBoost models give exact tree SHAP values; other models and ensembles are explained through
    a LightGBM surrogate trained on their predictions (its fidelity, R², is reported).
    """
    X = _sample(frame.reindex(columns=model.features), max_rows, seed).reset_index(drop=True)
    if class_index is None:
        class_index = 1 if model.task == "binary" else 0
    from .families import FAMILIES

    family = FAMILIES.get(model.algo)
    is_gbm = family is not None and family.exact_shap and not isinstance(model, EnsembleModel)
    if is_gbm:
        values, base = _tree_contributions(model, X, class_index)
        method, fidelity = "tree_shap", None
    else:
        values, base, fidelity = _surrogate_contributions(model, X, class_index, seed)
        method = "surrogate_tree_shap"
    return {"method": method, "features": list(model.features), "values": values.round(6).tolist(),
            "feature_values": [_plain(X[f]) for f in model.features], "base_value": base,
            "class": None if model.task == "regression" else _label(model.classes[class_index]),
            "fidelity_r2": fidelity}


def _plain(series: pd.Series) -> list:
    if pd.api.types.is_numeric_dtype(series):
        return [None if pd.isna(v) else float(v) for v in series]
    return [None if pd.isna(v) else str(v) for v in series]


def _label(v):
    return v.item() if hasattr(v, "item") else v


def partial_dependence(model: TrainedModel, frame: pd.DataFrame, feature: str, max_rows: int = 300,
                       grid_size: int = PD_GRID, seed: int = 0) -> dict:
    """The average prediction as one column is set to each value of a grid, the others left as they are."""
    X = _sample(frame.reindex(columns=model.features), max_rows, seed).reset_index(drop=True)
    column = frame[feature].dropna()
    kind = model.feature_kinds.get(feature, "categorical")
    if kind == "numeric" and column.nunique() > grid_size:
        grid = np.unique(np.quantile(column.astype(float), np.linspace(0.02, 0.98, grid_size)))
        grid_values = [float(g) for g in grid]
    else:
        counts = column.value_counts()
        grid_values = [_label(v) for v in counts.index[:grid_size]]
        if kind == "numeric":
            grid_values = sorted(float(v) for v in grid_values)
    stacked = pd.concat([X.assign(**{feature: v}) for v in grid_values], ignore_index=True)
    raw = model.predict_raw(stacked)
    n = len(X)
    if model.task == "regression":
        means = {"prediction": [float(raw[i * n:(i + 1) * n].mean()) for i in range(len(grid_values))]}
    else:
        means = {str(_label(c)): [float(raw[i * n:(i + 1) * n, k].mean()) for i in range(len(grid_values))]
                 for k, c in enumerate(model.classes)}
        if model.task == "binary":
            means = {str(_label(model.classes[1])): means[str(_label(model.classes[1]))]}
    return {"feature": feature, "kind": "numeric" if kind == "numeric" else "categorical",
            "grid": grid_values, "values": means}


def _thin(*arrays, n=MAX_POINTS, seed=0):
    length = len(arrays[0])
    if length <= n:
        return arrays
    idx = np.sort(np.random.default_rng(seed).choice(length, n, replace=False))
    return tuple(a[idx] for a in arrays)


def residuals(y: np.ndarray, predicted: np.ndarray) -> dict:
    y, predicted = _thin(np.asarray(y, dtype=float), np.asarray(predicted, dtype=float))
    return {"actual": y.round(6).tolist(), "predicted": predicted.round(6).tolist(),
            "residual": (y - predicted).round(6).tolist()}


def confusion(y: np.ndarray, proba: np.ndarray, classes: list) -> dict:
    pred = np.argmax(proba, axis=1)
    matrix = skm.confusion_matrix(y, pred, labels=list(range(len(classes))))
    return {"labels": [str(_label(c)) for c in classes], "matrix": matrix.tolist()}


def _curve_points(x, y, n=200):
    if len(x) <= n:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, n).astype(int))
    return x[idx], y[idx]


def roc_pr(y: np.ndarray, proba: np.ndarray, classes: list) -> tuple[list, list]:
    """ROC and precision-recall curves: the positive class for binary, one-vs-rest for multiclass."""
    targets = [1] if len(classes) == 2 else list(range(len(classes)))
    roc, pr = [], []
    for k in targets:
        truth = (y == k).astype(int)
        if truth.min() == truth.max():
            continue
        fpr, tpr, _ = skm.roc_curve(truth, proba[:, k])
        precision, recall, _ = skm.precision_recall_curve(truth, proba[:, k])
        fpr, tpr = _curve_points(fpr, tpr)
        recall, precision = _curve_points(recall[::-1], precision[::-1])
        label = str(_label(classes[k]))
        roc.append({"class": label, "fpr": fpr.round(5).tolist(), "tpr": tpr.round(5).tolist(),
                    "auc": float(skm.roc_auc_score(truth, proba[:, k]))})
        pr.append({"class": label, "recall": recall.round(5).tolist(), "precision": precision.round(5).tolist(),
                   "aucpr": float(skm.average_precision_score(truth, proba[:, k]))})
    return roc, pr


def performance(model: TrainedModel, y: np.ndarray, predictions: np.ndarray) -> dict:
    """Residuals (regression) or confusion matrix, ROC and PR (classification) from given predictions."""
    from .validation import covered

    mask = covered(predictions)
    y, predictions = np.asarray(y)[mask], predictions[mask]
    if model.task == "regression":
        return {"residuals": residuals(y, predictions)}
    roc, pr = roc_pr(y.astype(int), predictions, model.classes)
    return {"confusion_matrix": confusion(y.astype(int), predictions, model.classes), "roc": roc, "pr": pr}


def explain_rows(n_rows: int, n_features: int, top_features: int = 3) -> int:
    """About how many rows ``explain_model`` has the model predict: with the model's time per row, what
    explaining it costs (permutation importance, the SHAP surrogate, partial dependence)."""
    return (min(n_rows, 500) * (n_features + 1) + min(n_rows, 300) * 2
            + min(n_rows, 300) * PD_GRID * min(top_features, n_features))


def explain_model(model: TrainedModel, frame: pd.DataFrame, y: np.ndarray, predictions: np.ndarray | None = None,
                  top_features: int = 3, seed: int = 0) -> dict:
    """Everything the dashboard shows for one model, as plain data.

    ``frame`` holds the raw feature columns, ``y`` the encoded target (class indices for
    classification). ``predictions`` are out-of-fold predictions when known; otherwise the model
    predicts ``frame`` itself (in-sample, optimistic).
    """
    if predictions is None:
        predictions = model.predict_raw(frame)
    importance = variable_importance(model, frame, y, seed=seed)
    out = {"variable_importance": importance, **performance(model, y, predictions)}
    out["shap"] = shap_values(model, frame, seed=seed)
    out["partial_dependence"] = [partial_dependence(model, frame, r["feature"], seed=seed)
                                 for r in importance[:top_features]]
    return out


def importance_heatmap(importances: dict[str, list[dict]]) -> dict:
    """Models x features matrix of scaled importances (as H2O's varimp heatmap)."""
    models = list(importances)
    totals: dict[str, float] = {}
    for rows in importances.values():
        for r in rows:
            totals[r["feature"]] = totals.get(r["feature"], 0.0) + r["importance"]
    features = sorted(totals, key=lambda f: -totals[f])
    lookup = {m: {r["feature"]: r["importance"] for r in rows} for m, rows in importances.items()}
    return {"models": models, "features": features,
            "values": [[round(lookup[m].get(f, 0.0), 6) for f in features] for m in models]}


def model_correlation(predictions: dict[str, np.ndarray], task: str) -> dict:
    """Pearson correlation between models' predictions (P(positive) for binary; class agreement for multiclass)."""
    models = list(predictions)
    if task == "multiclass":
        labels = np.column_stack([np.argmax(predictions[m], axis=1) for m in models])
        matrix = [[float(np.mean(labels[:, i] == labels[:, j])) for j in range(len(models))] for i in range(len(models))]
        return {"models": models, "matrix": matrix, "measure": "share of rows with the same predicted class"}
    columns = np.column_stack([_score_vector_any(predictions[m], task) for m in models])
    ok = ~np.isnan(columns).any(axis=1)
    matrix = np.corrcoef(columns[ok], rowvar=False) if len(models) > 1 else np.ones((1, 1))
    return {"models": models, "matrix": np.nan_to_num(np.atleast_2d(matrix), nan=0.0).round(6).tolist(),
            "measure": "correlation of predictions"}


def _score_vector_any(pred: np.ndarray, task: str) -> np.ndarray:
    return pred if task == "regression" else pred[:, 1]
