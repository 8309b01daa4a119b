"""A trained model as an ONNX graph that runs with onnxruntime alone, from any language.

``to_onnx(model)`` writes the whole model, preprocessing included, as one graph:

- Inputs: one per training column, by name, shape ``[rows, 1]``. Numbers are ``double`` (NaN when
  missing); categories, text and yes/no columns are strings ("" when missing); dates are
  ``double`` seconds since 1970-01-01 00:00, the time as written (NaN when missing).
  ``onnx_inputs(model, frame)`` builds them from a pandas table.
- Outputs: ``predict`` (a number for regression, the class label as a string otherwise) and, for
  classification, ``probabilities`` (``[rows, classes]``, in the order of ``model.classes``).

Trees are written with ``ai.onnx.ml`` TreeEnsemble (opset 5) in double precision, so splits fall
exactly as in Python; text columns are tokenised by the converter of scikit-learn's vectorizers
(skl2onnx). A part that cannot be written raises ``NotConvertible`` with the reason.
"""
from __future__ import annotations

import json
import weakref

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from .ensemble import GreedyEnsemble
from .families.catboost_family import MISSING_CODE, ONE_HOT_MAX, CatBoostEstimator
from .families.deeplearning import MLPEstimator
from .families.drf import ForestEstimator
from .families.gbm import LGBMEstimator
from .families.glm import GLMEstimator
from .families.xgboost_family import XGBEstimator
from .model import EnsembleModel, StackedModel, TrainedModel
from .preprocessing import (LARGEST, TRUE_VALUES, DatetimeParts, TextColumn, ToBool, ToCategory, ToNumber,
                            _parse_dates)
from .schema import BOOL_VALUES, DATETIME, NUMERIC
from .validation import FoldAverage

OPSETS = {"": 21, "ai.onnx.ml": 5}
IR_VERSION = 10  # what onnxruntime 1.20 and later read
MISSING = ""  # a missing category, text or yes/no value
DAY_SECS = 86_400.0


class NotConvertible(Exception):
    """A part of the model has no ONNX form here; the message says which, in plain words."""


# -- inputs ---------------------------------------------------------------------------------------
def input_type(kind: str) -> str:
    return "double" if kind in (NUMERIC, DATETIME) else "string"


def onnx_inputs(model: TrainedModel, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ONNX inputs for the rows of ``frame`` (columns the model lacks are sent as missing)."""
    feed = {}
    for column in model.features:
        kind = model.feature_kinds.get(column)
        values = frame[column] if column in frame.columns else pd.Series([np.nan] * len(frame), index=frame.index)
        if kind == NUMERIC:
            out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        elif kind == DATETIME:
            parsed = _parse_dates(values)
            out = ((parsed - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
        else:
            known = values.notna().to_numpy()
            out = np.full(len(values), MISSING, dtype=object)
            out[known] = values[known].astype(str).str.strip().to_numpy(dtype=object)
        feed[column] = out.reshape(-1, 1)
    return feed


# -- the graph ------------------------------------------------------------------------------------
class Graph:
    """A small builder over onnx.helper: named constants, nodes, and sub-models taken in whole."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self.opsets = dict(OPSETS)
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"_{hint}{self._count}"

    def const(self, value, dtype=np.float64, hint="c") -> str:
        name = self.name(hint)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def tensor(self, value, dtype=np.float64):
        return self.numpy_helper.from_array(np.asarray(value, dtype=dtype))

    def op(self, op_type: str, *inputs: str, domain: str = "", **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], domain=domain, **attrs))
        return out

    def absorb(self, sub, feeds: dict[str, str]) -> list[str]:
        """Copy another ONNX model's graph in, its inputs wired to ``feeds``; return its outputs."""
        prefix = self.name("sub") + "/"

        def rename(name: str) -> str:
            return name if not name else feeds.get(name, prefix + name)

        for node in sub.graph.node:
            copy = self.helper.make_node(node.op_type, [rename(i) for i in node.input],
                                         [rename(o) for o in node.output], domain=node.domain)
            copy.attribute.extend(node.attribute)
            self.nodes.append(copy)
        for init in sub.graph.initializer:
            init = type(init).FromString(init.SerializeToString())
            init.name = rename(init.name)
            self.initializers.append(init)
        for opset in sub.opset_import:
            self.opsets[opset.domain] = max(self.opsets.get(opset.domain, 0), opset.version)
        return [rename(o.name) for o in sub.graph.output]

    def model(self, doc: str, metadata: dict):
        from onnx import checker

        graph = self.helper.make_graph(self.nodes, "automl_model", self.inputs, self.outputs, self.initializers)
        proto = self.helper.make_model(
            graph, opset_imports=[self.helper.make_opsetid(d, v) for d, v in self.opsets.items()],
            ir_version=IR_VERSION, producer_name="automl-engine", doc_string=doc)
        self.helper.set_model_props(proto, {k: str(v) for k, v in metadata.items()})
        checker.check_model(proto)
        return proto

    # shorthands for the arithmetic below
    def num(self, value: float) -> str:
        return self.const(value)

    def floor_div(self, a: str, b: float) -> str:
        return self.op("Floor", self.op("Div", a, self.num(b)))

    def column(self, x: str, index: int) -> str:
        return self.op("Gather", x, self.const([index], np.int64), axis=1)


# -- preprocessing ----------------------------------------------------------------------------------
def _numbers(g: Graph, x: str) -> str:
    """ToNumber: infinite values become missing, huge ones are clipped."""
    clipped = g.op("Clip", x, g.num(-LARGEST), g.num(LARGEST))
    return g.op("Where", g.op("IsInf", x), g.num(np.nan), clipped)


def _lower(g: Graph, x: str) -> str:
    flat = g.op("Reshape", x, g.const([-1], np.int64))
    low = g.op("StringNormalizer", flat, case_change_action="LOWER", locale="C")
    return g.op("Reshape", low, g.const([-1, 1], np.int64))


def _lookup(g: Graph, x: str, mapping: dict, default: float) -> str:
    """Strings to doubles through a fixed table (LabelEncoder), anything else to ``default``."""
    keys = list(mapping) or ["\x00"]
    values = [float(mapping[k]) for k in mapping] or [default]
    return g.op("LabelEncoder", x, domain="ai.onnx.ml",
                keys_tensor=g.tensor(np.array(keys, dtype=object), dtype=object),
                values_tensor=g.tensor(values), default_tensor=g.tensor([default]))


def _booleans(g: Graph, x: str) -> str:
    false = (BOOL_VALUES - TRUE_VALUES) | {"0", "0.0"}
    return _lookup(g, _lower(g, x), {**{v: 0.0 for v in sorted(false)}, **{v: 1.0 for v in sorted(TRUE_VALUES)}},
                   np.nan)


def _civil(g: Graph, days: str) -> tuple[str, str, str]:
    """Year, month and day from whole days since 1970-01-01 (proleptic Gregorian calendar)."""
    z = g.op("Add", days, g.num(719_468))
    era = g.floor_div(z, 146_097)
    doe = g.op("Sub", z, g.op("Mul", era, g.num(146_097)))
    yoe = g.floor_div(g.op("Sub", g.op("Add", g.op("Sub", doe, g.floor_div(doe, 1460)), g.floor_div(doe, 36_524)),
                           g.floor_div(doe, 146_096)), 365)
    doy = g.op("Sub", doe, g.op("Sub", g.op("Add", g.op("Mul", yoe, g.num(365)), g.floor_div(yoe, 4)),
                                 g.floor_div(yoe, 100)))
    mp = g.floor_div(g.op("Add", g.op("Mul", doy, g.num(5)), g.num(2)), 153)
    day = g.op("Add", g.op("Sub", doy, g.floor_div(g.op("Add", g.op("Mul", mp, g.num(153)), g.num(2)), 5)), g.num(1))
    month = g.op("Where", g.op("Less", mp, g.num(10)), g.op("Add", mp, g.num(3)), g.op("Sub", mp, g.num(9)))
    year = g.op("Add", g.op("Add", yoe, g.op("Mul", era, g.num(400))),
                g.op("Cast", g.op("LessOrEqual", month, g.num(2)), to=11))
    return year, month, day


def _first_of_year(g: Graph, year: str) -> str:
    """Days since 1970-01-01 of January 1st of ``year``."""
    y = g.op("Sub", year, g.num(1))  # January counts as the 11th month of the year before
    era = g.floor_div(y, 400)
    yoe = g.op("Sub", y, g.op("Mul", era, g.num(400)))
    doe = g.op("Add", g.op("Sub", g.op("Add", g.op("Mul", yoe, g.num(365)), g.floor_div(yoe, 4)),
                           g.floor_div(yoe, 100)), g.num(306))
    return g.op("Sub", g.op("Add", g.op("Mul", era, g.num(146_097)), doe), g.num(719_468))


def _date_parts(g: Graph, step: DatetimeParts, seconds: list[str]) -> list[str]:
    out = []
    for secs in seconds:
        whole_days = g.floor_div(secs, DAY_SECS)
        year, month, day = _civil(g, whole_days)
        parts = {
            "year": year, "month": month, "day": day,
            "dayofweek": _weekday(g, whole_days),
            "hour": g.floor_div(g.op("Sub", secs, g.op("Mul", whole_days, g.num(DAY_SECS))), 3600),
            "dayofyear": g.op("Add", g.op("Sub", whole_days, _first_of_year(g, year)), g.num(1)),
            "days": g.op("Div", secs, g.num(DAY_SECS)),
        }
        out.extend(parts[p] for p in step._parts())
    return out


def _weekday(g: Graph, whole_days: str) -> str:
    """Monday is 0; 1970-01-01 was a Thursday. fmod keeps the dividend's sign, so add 7 back below 0."""
    value = g.op("Mod", g.op("Add", whole_days, g.num(3)), g.num(7), fmod=1)
    return g.op("Where", g.op("Less", value, g.num(0)), g.op("Add", value, g.num(7)), value)


def _first_step(g: Graph, step, columns: list[str], inputs: dict) -> str:
    """The first step of a numeric, yes/no or date block, as an [N, k] double tensor."""
    if isinstance(step, DatetimeParts):
        return g.op("Concat", *_date_parts(g, step, [inputs[c] for c in columns]), axis=1)
    if isinstance(step, ToBool):
        return g.op("Concat", *[_booleans(g, inputs[c]) for c in columns], axis=1)
    if isinstance(step, ToNumber) and not isinstance(step, ToCategory):
        return _numbers(g, g.op("Concat", *[inputs[c] for c in columns], axis=1))
    raise NotConvertible(f"the step {type(step).__name__} has no ONNX form")


def _impute_scale(g: Graph, x: str, imputer, scaler) -> str:
    filled = g.op("Where", g.op("IsNaN", x), g.const(np.nan_to_num(imputer.statistics_, nan=0.0)), x)
    indicator = getattr(imputer, "indicator_", None)
    if indicator is not None and len(indicator.features_):
        flags = g.op("Cast", g.op("IsNaN", g.op("Gather", x, g.const(indicator.features_, np.int64), axis=1)), to=11)
        filled = g.op("Concat", filled, flags, axis=1)
    mean = scaler.mean_ if scaler.mean_ is not None else np.zeros(scaler.n_features_in_)
    scale = scaler.scale_ if scaler.scale_ is not None else np.ones(scaler.n_features_in_)
    return g.op("Div", g.op("Sub", filled, g.const(mean)), g.const(scale))


def _category_frame(encoder, columns: list[str]) -> pd.DataFrame:
    """Every category each column has seen, one column each (padded with missing values)."""
    values = [[c for c in cats if isinstance(c, str)] for cats in encoder.categories_]
    longest = max(len(v) for v in values) + 1
    return pd.DataFrame({col: v + [np.nan] * (longest - len(v)) for col, v in zip(columns, values)}, dtype=object)


def _categories(g: Graph, pipe: Pipeline, columns: list[str], inputs: dict) -> str:
    steps = [s for _, s in pipe.steps]
    encoder = steps[-1]
    frame = _category_frame(encoder, columns)
    encoded = pipe.transform(frame)
    missing_at = len(frame) - 1  # the padding row holds a missing value in every column
    blocks, offset = [], 0
    for j, col in enumerate(columns):
        known = frame[col].dropna().tolist()
        if isinstance(encoder, OrdinalEncoder):
            mapping = {v: encoded[i, j] for i, v in enumerate(known)}
            mapping[MISSING] = encoded[missing_at, j]
            blocks.append(_lookup(g, inputs[col], mapping, np.nan))
            continue
        infrequent = (encoder.infrequent_categories_[j] if hasattr(encoder, "infrequent_categories_") else None)
        width = len(encoder.categories_[j]) - (len(infrequent) if infrequent is not None else 0) \
            + (1 if infrequent is not None else 0)
        block = encoded[:, offset:offset + width]
        mapping = {v: float(np.argmax(block[i])) if block[i].any() else -1.0 for i, v in enumerate(known)}
        mapping[MISSING] = float(np.argmax(block[missing_at])) if block[missing_at].any() else -1.0
        unknown = float(width - 1) if infrequent is not None else -1.0
        index = _lookup(g, inputs[col], mapping, unknown)
        blocks.append(g.op("Cast", g.op("Equal", index, g.const(np.arange(width, dtype=float))), to=11))
        offset += width
    return g.op("Concat", *blocks, axis=1)


def _text(g: Graph, step: TextColumn, x: str) -> str:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    try:
        sub = convert_sklearn(step.vectorizer_, initial_types=[("text", StringTensorType([None, 1]))],
                              options={id(step.vectorizer_): {"tokenexp": r"\b\w\w+\b"}},
                              target_opset={"": OPSETS[""], "ai.onnx.ml": 1})
    except Exception as exc:  # the converter's own words say what it could not do
        raise NotConvertible(f"the words of a text column could not be converted ({exc})") from exc
    for node in sub.graph.node:  # the "C" locale exists everywhere; en_US may not
        if node.op_type == "StringNormalizer":
            kept = [a for a in node.attribute if a.name != "locale"]
            del node.attribute[:]
            node.attribute.extend(kept + [g.helper.make_attribute("locale", "C")])
    (out,) = g.absorb(sub, {"text": x})
    return g.op("Cast", out, to=11)


def _features(g: Graph, prep, inputs: dict) -> str:
    """The ColumnTransformer's output: one [N, F] double tensor, blocks in the same order."""
    blocks = []
    for name, step, columns in prep.transformers_:
        if name == "remainder" or step == "drop" or not len(columns):
            continue
        columns = list(columns)
        if isinstance(step, TextColumn):
            if step.words_:
                blocks.append(_text(g, step, inputs[columns[0]]))
            continue
        steps = [s for _, s in step.steps] if isinstance(step, Pipeline) else [step]
        if isinstance(steps[0], ToCategory):
            blocks.append(_categories(g, step, columns, inputs))
            continue
        x = _first_step(g, steps[0], columns, inputs)
        if len(steps) == 3:
            x = _impute_scale(g, x, steps[1], steps[2])
        elif len(steps) != 1:
            raise NotConvertible(f"the preprocessing block {name} has no ONNX form")
        blocks.append(x)
    return g.op("Concat", *blocks, axis=1) if len(blocks) > 1 else blocks[0]


# -- trees ------------------------------------------------------------------------------------------
class Trees:
    """Trees gathered into one ai.onnx.ml TreeEnsemble (opset 5, double precision, summed)."""
    LEQ, LT, MEMBER = 0, 1, 6

    def __init__(self):
        self.roots, self.features, self.modes, self.splits = [], [], [], []
        self.true_ids, self.true_leaf, self.false_ids, self.false_leaf, self.missing_true = [], [], [], [], []
        self.members, self.leaf_targets, self.leaf_weights = [], [], []

    def leaf(self, target: int, weight: float) -> tuple[int, int]:
        self.leaf_targets.append(int(target))
        self.leaf_weights.append(float(weight))
        return len(self.leaf_weights) - 1, 1

    def node(self, feature: int, mode: int, split: float, missing_true: bool, members=()) -> int:
        self.features.append(int(feature))
        self.modes.append(mode)
        self.splits.append(float(split))
        self.missing_true.append(int(bool(missing_true)))
        if mode == self.MEMBER:
            self.members.extend([float(m) for m in members] + [np.nan])
        for lst in (self.true_ids, self.true_leaf, self.false_ids, self.false_leaf):
            lst.append(0)
        return len(self.features) - 1

    def link(self, node: int, true: tuple[int, int], false: tuple[int, int]) -> None:
        self.true_ids[node], self.true_leaf[node] = true
        self.false_ids[node], self.false_leaf[node] = false

    def stump(self, target: int, weight: float) -> None:
        """A tree that is a single leaf: one node whose both branches lead to it."""
        root = self.node(0, self.LEQ, 0.0, True)
        leaf = self.leaf(target, weight)
        self.link(root, leaf, leaf)
        self.roots.append(root)

    def emit(self, g: Graph, x: str, n_targets: int) -> str:
        attrs = dict(
            tree_roots=self.roots, nodes_featureids=self.features,
            nodes_modes=g.tensor(self.modes, np.uint8), nodes_splits=g.tensor(self.splits),
            nodes_truenodeids=self.true_ids, nodes_trueleafs=self.true_leaf, nodes_falsenodeids=self.false_ids,
            nodes_falseleafs=self.false_leaf, nodes_missing_value_tracks_true=self.missing_true,
            leaf_targetids=self.leaf_targets, leaf_weights=g.tensor(self.leaf_weights),
            n_targets=n_targets, aggregate_function=1)
        if self.members:
            attrs["membership_values"] = g.tensor(self.members)
        return g.op("TreeEnsemble", x, domain="ai.onnx.ml", **attrs)


def _sklearn_tree(trees: Trees, tree, target: int, values: np.ndarray) -> None:
    """One scikit-learn tree (x <= threshold goes left; a missing value goes where it learnt).

    Written from the tree's arrays at once: split nodes keep their order, then the leaves theirs."""
    t = tree.tree_
    left, right = t.children_left, t.children_right
    if left[0] == -1:
        trees.stump(target, values[0])
        return
    split = left != -1
    first_node, first_leaf = len(trees.features), len(trees.leaf_weights)
    new_id = np.where(split, first_node + np.cumsum(split) - 1, first_leaf + np.cumsum(~split) - 1)
    nodes = np.flatnonzero(split)
    go_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=bool))
    trees.features.extend(t.feature[nodes].tolist())
    trees.modes.extend([Trees.LEQ] * len(nodes))
    trees.splits.extend(t.threshold[nodes].astype(float).tolist())
    trees.missing_true.extend(go_left[nodes].astype(int).tolist())
    for ids, flags, child in ((trees.true_ids, trees.true_leaf, left[nodes]),
                              (trees.false_ids, trees.false_leaf, right[nodes])):
        ids.extend(new_id[child].tolist())
        flags.extend((~split[child]).astype(int).tolist())
    leaves = np.flatnonzero(~split)
    trees.leaf_targets.extend([int(target)] * len(leaves))
    trees.leaf_weights.extend(np.asarray(values, dtype=float)[leaves].tolist())
    trees.roots.append(first_node)  # node 0 is the root and the first split node


def _forest(g: Graph, est: ForestEstimator, x: str, task: str) -> str:
    forest = est.forest_
    n = len(forest.estimators_)
    trees = Trees()
    # scikit-learn compares in single precision: round the inputs the same way
    x32 = g.op("Cast", g.op("Cast", x, to=1), to=11)
    if task == "regression":
        for tree in forest.estimators_:
            _sklearn_tree(trees, tree, 0, tree.tree_.value[:, 0, 0] / n)
        return g.op("Reshape", trees.emit(g, x32, 1), g.const([-1], np.int64))
    k = len(forest.classes_)
    targets = [1] if k == 2 else range(k)
    for tree in forest.estimators_:
        value = tree.tree_.value[:, 0, :]
        proportions = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300)
        for c in targets:
            _sklearn_tree(trees, tree, 0 if k == 2 else c, proportions[:, c] / n)
    out = trees.emit(g, x32, 1 if k == 2 else k)
    return _two_columns(g, out) if k == 2 else out


def _two_columns(g: Graph, p: str) -> str:
    """[N, 1] probability of the second class to [N, 2]."""
    return g.op("Concat", g.op("Sub", g.num(1.0), p), p, axis=1)


def _lgbm_tree(trees: Trees, node: dict, target: int) -> tuple[int, int]:
    if "leaf_value" in node:
        return trees.leaf(target, node["leaf_value"])
    if node["decision_type"] == "==":
        members = [float(v) for v in str(node["threshold"]).split("||")]
        # a missing or negative value never matches a category: it goes right
        index = trees.node(node["split_feature"], Trees.MEMBER, np.nan, False, members)
    else:
        missing = node.get("missing_type", "None")
        if missing == "NaN":
            missing_true = node["default_left"]
        elif missing == "None":  # a missing value is taken as 0
            missing_true = 0.0 <= float(node["threshold"])
        else:
            raise NotConvertible("a LightGBM split that treats zero as missing has no ONNX form here")
        index = trees.node(node["split_feature"], Trees.LEQ, float(node["threshold"]), missing_true)
    trees.link(index, _lgbm_tree(trees, node["left_child"], target), _lgbm_tree(trees, node["right_child"], target))
    return index, 0


_LGBM_TREES = weakref.WeakKeyDictionary()  # booster -> its trees: an ensemble repeats its members' boosters


def _lgbm_trees(est: LGBMEstimator) -> tuple[Trees, int, list[str]]:
    """The booster's trees, outputs per round and objective (LightGBM's JSON dump takes about a second)."""
    cached = _LGBM_TREES.get(est.booster_)
    if cached is None or cached[0] != est.best_iteration_:
        dump = est.booster_.dump_model(num_iteration=est.best_iteration_)
        per_round = dump.get("num_tree_per_iteration", 1)
        trees = Trees()
        for info in dump["tree_info"]:
            root = info["tree_structure"]
            target = info["tree_index"] % per_round
            if "leaf_value" in root:
                trees.stump(target, root["leaf_value"])
            else:
                trees.roots.append(_lgbm_tree(trees, root, target)[0])
        cached = est.best_iteration_, trees, per_round, str(dump.get("objective", "regression")).split()
        _LGBM_TREES[est.booster_] = cached
    return cached[1:]


def _lgbm(g: Graph, est: LGBMEstimator, x: str, task: str) -> str:
    trees, per_round, objective = _lgbm_trees(est)
    raw = trees.emit(g, x, per_round)
    name = objective[0]
    if task == "regression":
        flat = g.op("Reshape", raw, g.const([-1], np.int64))
        if name in ("regression", "regression_l2", "l2", "mean_squared_error", "mse"):
            return flat
        if name in ("poisson", "tweedie", "gamma"):
            return g.op("Exp", flat)
        raise NotConvertible(f"the LightGBM objective {name!r} has no ONNX form here")
    if name == "binary":
        sigmoid = next((float(o.split(":")[1]) for o in objective[1:] if o.startswith("sigmoid:")), 1.0)
        return _two_columns(g, g.op("Sigmoid", g.op("Mul", raw, g.num(sigmoid))))
    if name in ("multiclass", "softmax"):
        return g.op("Softmax", raw, axis=1)
    raise NotConvertible(f"the LightGBM objective {name!r} has no ONNX form here")


def _oblivious(trees: Trees, splits: list, values: list, k: int, c: int, scale: float) -> None:
    """One CatBoost symmetric tree for output ``c``: level j tests splits[j], a (column, border, missing
    is true) each; x > border sets bit j of the leaf's index."""
    depth = len(splits)
    if depth == 0:
        trees.stump(c, scale * values[c])
        return

    def build(level: int, index: int) -> tuple[int, int]:
        if level == depth:
            return trees.leaf(c, scale * values[index * k + c])
        feature, border, missing_true = splits[level]
        # x <= border is the true branch (bit 0)
        node = trees.node(feature, Trees.LEQ, border, missing_true)
        trees.link(node, build(level + 1, index), build(level + 1, index | (1 << level)))
        return node, 0

    trees.roots.append(build(0, 0)[0])


def _category_splits(g: Graph, est: CatBoostEstimator, dump: dict, x32: str) -> tuple[str, dict]:
    """CatBoost's one-hot splits on categories, as splits on derived 0/1 columns appended to ``x32``.

    A one-hot split tests one category against the rest, and CatBoost names the category by a hash of
    its text. Rather than repeat the hash, the model itself is asked: every code a category column can
    hold (missing, 0 to ONE_HOT_MAX, and one beyond for any larger) is sent through it, and the leaf
    each row reaches gives each split's answer for that code. Each split becomes a lookup table over the
    codes (Gather) whose 0/1 output the tree tests against 0.5. Returns the widened input and, per
    (tree, level), the derived column's position.
    """
    info = dump.get("features_info", {})
    if info.get("ctrs"):
        raise NotConvertible("a CatBoost model with target statistics of categories has no ONNX form here")
    cat_flat = [f["flat_feature_index"] for f in info.get("categorical_features", [])]
    n_in = int(est.n_features_in_)
    codes = np.arange(MISSING_CODE, ONE_HOT_MAX + 2)
    tables, where, derived = [], {}, 0  # derived: the 0/1 columns added so far
    for i, flat in enumerate(cat_flat):
        probe = np.zeros((len(codes), n_in))
        probe[:, flat] = codes
        leaves = est.model_.calc_leaf_indexes(est._data(probe))
        bits = []
        for t, tree in enumerate(dump["oblivious_trees"]):
            for level, split in enumerate(tree.get("splits") or []):
                if split["split_type"] == "OneHotFeature" and split["cat_feature_index"] == i:
                    where[(t, level)] = n_in + derived + len(bits)
                    bits.append((leaves[:, t] >> level) & 1)
        if bits:
            # the code's row in the table: missing (NaN) or -1 -> 0, codes 0.. -> 1.., beyond -> the last row
            value = g.op("Gather", x32, g.const([flat], np.int64), axis=1)
            shifted = g.op("Clip", g.op("Add", value, g.num(1.0)), g.num(0.0), g.num(float(len(codes) - 1)))
            row = g.op("Cast", g.op("Where", g.op("IsNaN", value), g.num(0.0), shifted), to=7)
            table = g.const(np.stack(bits, axis=1).astype(float))
            looked = g.op("Gather", table, g.op("Reshape", row, g.const([-1], np.int64)), axis=0)
            derived += len(bits)
            tables.append(looked)
    for t, tree in enumerate(dump["oblivious_trees"]):
        for level, split in enumerate(tree.get("splits") or []):
            if split["split_type"] not in ("FloatFeature", "OneHotFeature"):
                raise NotConvertible(f"a CatBoost split of the kind {split['split_type']} has no ONNX form here")
    return (g.op("Concat", x32, *tables, axis=1) if tables else x32), where


def _catboost(g: Graph, est: CatBoostEstimator, x: str, task: str) -> str:
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.json")
        est.model_.save_model(path, format="json")
        with open(path, encoding="utf-8") as fh:
            dump = json.load(fh)
    info = dump.get("features_info", {})
    floats = info.get("float_features", [])
    flat = [f["flat_feature_index"] for f in floats]  # CatBoost numbers its float columns apart from its categories
    # a missing value counts as the smallest unless told otherwise
    nan_true = {f["flat_feature_index"] for f in floats if f.get("nan_value_treatment") == "AsTrue"}
    scale, bias = dump.get("scale_and_bias", [1.0, [0.0]])
    bias = np.atleast_1d(np.asarray(bias, dtype=float))
    k = len(bias)
    # CatBoost compares in single precision: round the inputs the same way
    x32 = g.op("Cast", g.op("Cast", x, to=1), to=11)
    wide, derived = _category_splits(g, est, dump, x32)
    trees = Trees()
    for t, tree in enumerate(dump["oblivious_trees"]):
        splits = []
        for level, split in enumerate(tree.get("splits") or []):
            if split["split_type"] == "FloatFeature":
                column = flat[split["float_feature_index"]]
                splits.append((column, split["border"], column not in nan_true))
            else:
                splits.append((derived[(t, level)], 0.5, False))
        for c in range(k):
            _oblivious(trees, splits, tree["leaf_values"], k, c, float(scale))
    raw = g.op("Add", trees.emit(g, wide, k), g.const(bias))
    if task == "regression":
        return g.op("Reshape", raw, g.const([-1], np.int64))
    if k == 1:
        return _two_columns(g, g.op("Sigmoid", raw))
    return g.op("Softmax", raw, axis=1)


def _xgb_tree(trees: Trees, node: dict, target: int) -> tuple[int, int]:
    if "leaf" in node:
        return trees.leaf(target, float(np.float32(node["leaf"])))
    children = {child["nodeid"]: child for child in node["children"]}
    # x < split goes to "yes"; XGBoost holds the threshold in single precision
    index = trees.node(int(node["split"][1:]), Trees.LT, float(np.float32(node["split_condition"])),
                       node["missing"] == node["yes"])
    trees.link(index, _xgb_tree(trees, children[node["yes"]], target), _xgb_tree(trees, children[node["no"]], target))
    return index, 0


def _xgboost(g: Graph, est: XGBEstimator, x: str, task: str) -> str:
    booster = est.booster_[:est.best_iteration_]
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    base = float(learner["learner_model_param"]["base_score"].strip("[]"))
    k = int(learner["learner_model_param"].get("num_class", "0")) or 1
    trees = Trees()
    for t, text in enumerate(booster.get_dump(dump_format="json")):
        node = json.loads(text)
        if "leaf" in node:
            trees.stump(t % k, float(np.float32(node["leaf"])))
        else:
            trees.roots.append(_xgb_tree(trees, node, t % k)[0])
    # XGBoost compares in single precision: round the inputs the same way
    x32 = g.op("Cast", g.op("Cast", x, to=1), to=11)
    if objective == "binary:logistic":  # the base score is a probability, or a mean on a log link
        base = float(np.log(base / (1.0 - base)))
    elif objective in ("count:poisson", "reg:tweedie"):
        base = float(np.log(base))
    raw = g.op("Add", trees.emit(g, x32, k), g.num(base))
    if objective == "reg:squarederror":
        return g.op("Reshape", raw, g.const([-1], np.int64))
    if objective in ("count:poisson", "reg:tweedie"):
        return g.op("Exp", g.op("Reshape", raw, g.const([-1], np.int64)))
    if objective == "binary:logistic":
        return _two_columns(g, g.op("Sigmoid", raw))
    if objective == "multi:softprob":
        return g.op("Softmax", raw, axis=1)
    raise NotConvertible(f"the XGBoost objective {objective!r} has no ONNX form here")


# -- linear models and nets -------------------------------------------------------------------------
def _affine(g: Graph, x: str, coef: np.ndarray, intercept) -> str:
    return g.op("Add", g.op("MatMul", x, g.const(np.asarray(coef, dtype=float).T)),
                g.const(np.atleast_1d(np.asarray(intercept, dtype=float))))


def _glm(g: Graph, est: GLMEstimator, x: str, task: str) -> str:
    model = est.model_
    if task == "regression":
        coef = np.asarray(model.coef_, dtype=float).reshape(1, -1)
        return g.op("Reshape", _affine(g, x, coef, model.intercept_), g.const([-1], np.int64))
    z = _affine(g, x, model.coef_, model.intercept_)
    if model.coef_.shape[0] == 1:
        return _two_columns(g, g.op("Sigmoid", z))
    return g.op("Softmax", z, axis=1)


ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid", "identity": "Identity"}


def _mlp(g: Graph, est: MLPEstimator, x: str, task: str) -> str:
    net = est.net_
    h = x
    last = len(net.coefs_) - 1
    for i, (w, b) in enumerate(zip(net.coefs_, net.intercepts_)):
        h = _affine(g, h, np.asarray(w).T, b)
        activation = net.out_activation_ if i == last else net.activation
        if activation == "softmax":
            h = g.op("Softmax", h, axis=1)
        elif activation in ACTIVATIONS:
            h = g.op(ACTIVATIONS[activation], h)
        else:
            raise NotConvertible(f"the activation {activation!r} has no ONNX form here")
    if task != "regression":
        return _two_columns(g, h) if net.out_activation_ == "logistic" else h
    out = g.op("Reshape", h, g.const([-1], np.int64))
    limits = getattr(est, "y_limits_", None)
    if limits is not None:
        out = g.op("Clip", out, g.num(limits[0]), g.num(limits[1]))
    out = g.op("Add", g.op("Mul", out, g.num(est.y_std_)), g.num(est.y_mean_))
    if getattr(est, "log_target_", False):
        out = g.op("Sub", g.op("Exp", out), g.num(1.0))
    return out


# -- models ---------------------------------------------------------------------------------------
def _classes_of(est) -> np.ndarray | None:
    inner = est.steps[-1][1] if isinstance(est, Pipeline) else est
    return getattr(inner, "classes_", None)


def _aligned(g: Graph, out: str, est, n_classes: int, task: str) -> str:
    """Probabilities in columns 0..n_classes-1 even if the model (a fold's) lacked a class."""
    classes = _classes_of(est)
    boosting = isinstance(est.steps[-1][1], (LGBMEstimator, CatBoostEstimator, XGBEstimator))  # a column per class
    if task == "regression" or boosting or classes is None or len(classes) == n_classes:
        return out
    spread = np.zeros((len(classes), n_classes))
    spread[np.arange(len(classes)), np.asarray(classes, dtype=int)] = 1.0
    return g.op("MatMul", out, g.const(spread))


LEARNERS = ((LGBMEstimator, _lgbm), (ForestEstimator, _forest), (GLMEstimator, _glm), (MLPEstimator, _mlp),
            (CatBoostEstimator, _catboost), (XGBEstimator, _xgboost))


def _pipeline(g: Graph, pipe, inputs: dict, task: str, n_classes: int) -> str:
    if not isinstance(pipe, Pipeline) or len(pipe.steps) != 2:
        raise NotConvertible(f"a {type(pipe).__name__} is not a pipeline this export knows")
    x = _features(g, pipe.steps[0][1], inputs)
    learner = pipe.steps[1][1]
    for cls, convert in LEARNERS:
        if isinstance(learner, cls):
            return _aligned(g, convert(g, learner, x, task), pipe, n_classes, task)
    raise NotConvertible(f"the model {type(learner).__name__} has no ONNX form here")


def _calibrated(g: Graph, proba: str, meta: GreedyEnsemble) -> str:
    """The ensemble's calibration (see ensemble.calibrate): tempered, renormalised, mixed with the prior."""
    if getattr(meta, "prior_", None) is None:
        return proba
    if meta.temperature_ != 1.0:
        powered = g.op("Pow", g.op("Max", proba, g.num(0.0)), g.num(1.0 / meta.temperature_))
        proba = g.op("Div", powered, g.op("ReduceSum", powered, g.const([1], np.int64), keepdims=1))
    if meta.prior_share_ > 0:
        proba = g.op("Add", g.op("Mul", proba, g.num(1.0 - meta.prior_share_)),
                     g.const(meta.prior_share_ * np.asarray(meta.prior_, dtype=float)))
    return proba


def _raw(g: Graph, model: TrainedModel, inputs: dict) -> str:
    """The model's predict_raw: numbers [N] for regression, probabilities [N, K] otherwise."""
    n_classes = len(model.classes or [])
    if isinstance(model, StackedModel):  # the columns plus its base models' predictions, as stacked_frame does
        inputs = {**inputs, **dict(zip(model.stack_columns, _prediction_columns(g, model, inputs)))}
        return _averaged(g, model.estimator, inputs, model.task, n_classes)
    if isinstance(model, EnsembleModel):
        meta = model.estimator
        if not isinstance(meta, GreedyEnsemble):
            raise NotConvertible(f"the metalearner {type(meta).__name__} has no ONNX form here")
        parts = []
        for weight, base in zip(meta.weights_, model.base_models):
            if weight <= 0:
                continue
            raw = _raw(g, base, inputs)
            if model.task == "binary":
                raw = g.op("Gather", raw, g.const([1], np.int64), axis=1)
            parts.append(g.op("Mul", raw, g.num(weight)))
        total = parts[0] if len(parts) == 1 else g.op("Sum", *parts)
        total = _two_columns(g, total) if model.task == "binary" else total
        return total if model.task == "regression" else _calibrated(g, total, meta)
    return _averaged(g, model.estimator, inputs, model.task, n_classes)


def _averaged(g: Graph, est, inputs: dict, task: str, n_classes: int) -> str:
    """A pipeline's output, or the mean of a FoldAverage's fold pipelines."""
    if isinstance(est, FoldAverage):
        outs = [_pipeline(g, e, inputs, task, n_classes) for e in est.estimators]
        return g.op("Div", g.op("Sum", *outs), g.num(len(outs))) if len(outs) > 1 else outs[0]
    return _pipeline(g, est, inputs, task, n_classes)


def _prediction_columns(g: Graph, model: StackedModel, inputs: dict) -> list[str]:
    """The base models' predictions as [N, 1] columns, in the order of level_one_features."""
    columns = []
    for base in model.base_models:
        raw = _raw(g, base, inputs)
        if model.task == "regression":
            columns.append(g.op("Reshape", raw, g.const([-1, 1], np.int64)))
            continue
        picked = [1] if model.task == "binary" else range(len(model.classes))
        columns += [g.op("Gather", raw, g.const([i], np.int64), axis=1) for i in picked]
    return columns


def to_onnx(model: TrainedModel):
    """The model as an ``onnx.ModelProto``; raises NotConvertible when a part has no ONNX form."""
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise NotConvertible("the onnx package is not installed") from exc
    from onnx import TensorProto

    g = Graph()
    inputs = {}
    for column in model.features:
        kind = model.feature_kinds.get(column)
        elem = TensorProto.DOUBLE if input_type(kind) == "double" else TensorProto.STRING
        g.inputs.append(g.helper.make_tensor_value_info(column, elem, [None, 1]))
        inputs[column] = column
    raw = _raw(g, model, inputs)
    if model.task == "regression":
        g.nodes.append(g.helper.make_node("Identity", [raw], ["predict"]))
        g.outputs.append(g.helper.make_tensor_value_info("predict", TensorProto.DOUBLE, [None]))
    else:
        labels = g.const(np.array([str(c) for c in model.classes], dtype=object), dtype=object, hint="labels")
        g.nodes.append(g.helper.make_node("Identity", [raw], ["probabilities"]))
        best = g.op("ArgMax", raw, axis=1, keepdims=0)
        g.nodes.append(g.helper.make_node("Gather", [labels, best], ["predict"], axis=0))
        g.outputs.append(g.helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE,
                                                         [None, len(model.classes)]))
        g.outputs.append(g.helper.make_tensor_value_info("predict", TensorProto.STRING, [None]))
    metadata = {"model_id": model.model_id, "task": model.task, "target": model.target,
                "inputs": json.dumps({c: {"kind": model.feature_kinds.get(c),
                                          "type": input_type(model.feature_kinds.get(c))} for c in model.features})}
    if model.classes:
        metadata["classes"] = json.dumps([str(c) for c in model.classes])
    return g.model(f"{model.model_id}: predicts {model.target} ({model.task})", metadata)



def run_onnx(data: bytes, model: TrainedModel, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Score ``frame`` with the ONNX form of ``model`` through onnxruntime: output name to array."""
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, onnx_inputs(model, frame))))


CHECK_ROWS = 200
RTOL = 1e-5


def checked_onnx(model: TrainedModel, frame: pd.DataFrame) -> bytes:
    """The ONNX file of ``model``, after checking that it predicts what the model does on ``frame``'s rows.

    Raises NotConvertible (with the reason) when a part has no ONNX form, onnxruntime is missing,
    or the two disagree.
    """
    data = to_onnx(model).SerializeToString()
    sample = frame.head(CHECK_ROWS)
    try:
        got = run_onnx(data, model, sample)
    except ImportError as exc:
        raise NotConvertible("onnxruntime is not installed, so the ONNX file could not be checked") from exc
    expected = model.predict(sample)
    if model.task == "regression":
        same = np.allclose(got["predict"], expected["predict"].to_numpy(float), rtol=RTOL, atol=1e-8)
    else:
        same = np.allclose(got["probabilities"], expected[[str(c) for c in model.classes]].to_numpy(float),
                           rtol=RTOL, atol=1e-9)
    if not same:
        raise NotConvertible("its ONNX form did not give the same predictions as the Python model on the "
                             "training rows, so it is left out")
    return data
