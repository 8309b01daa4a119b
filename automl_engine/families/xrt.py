"""XRT: extremely randomized trees."""
from .base import BuildContext, Cost, Family
from .drf import FOREST_COST, forest, refit_config, sample_config


def make_model(ctx: BuildContext, config: dict):
    return forest("XRT", ctx, config)


FAMILY = Family(key="XRT", label="Extremely randomized trees", style="tree", make_model=make_model,
                cost=Cost(secs_per_cell=3.5e-6, **FOREST_COST), refit_config=refit_config, sample_config=sample_config)
