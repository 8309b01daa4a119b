"""XRT: extremely randomized trees.

For classes its default grows leaves of at least CLASS_LEAF_ROWS rows, where the random forest's
default grows them to single rows. A leaf of one row votes for one class, and on a noisy target an
average of such votes ranks and calibrates poorly; a leaf of several rows gives each tree a share of
each class. 5-fold cross-validation on the training rows of the benchmark's 20 classification
tables (at most 20,000 rows each, 100 trees; 1 - AUC for two classes, log loss for more): leaves of 10
rows beat single rows on 13, by the most on noisy targets (taxi 0.409 -> 0.357, HealthInsurance
0.364 -> 0.310, Chem97 log loss 4.62 -> 1.45); single rows won on 7, the near-deterministic ones
among them (complete, car_evaluation, penguins, iris), for which the random forest's default keeps
single-row leaves. For numbers, single rows won on 10 of 11 tables (a leaf of one value is
an average over the trees, not a vote), so the default stays there.
"""
from .base import BuildContext, Cost, Family
from .drf import FOREST_COST, forest, refit_config, sample_config

CLASS_LEAF_ROWS = 10


def make_model(ctx: BuildContext, config: dict):
    return forest("XRT", ctx, config)


FAMILY = Family(key="XRT", label="Extremely randomized trees", style="tree", make_model=make_model,
                cost=Cost(secs_per_cell=3.5e-6, **FOREST_COST), refit_config=refit_config, sample_config=sample_config,
                class_configs=({"min_samples_leaf": CLASS_LEAF_ROWS},))
