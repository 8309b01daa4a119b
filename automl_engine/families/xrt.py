"""XRT: extremely randomized trees."""
from .base import BuildContext, Family
from .drf import forest, refit_config, sample_config


def make_model(ctx: BuildContext, config: dict):
    return forest("XRT", ctx, config)


FAMILY = Family(key="XRT", style="tree", make_model=make_model, refit_config=refit_config,
                sample_config=sample_config)
