"""XRT: extremely randomized trees."""
from .base import BuildContext, Family
from .drf import forest


def make_model(ctx: BuildContext, config: dict):
    return forest("XRT", ctx, config)


FAMILY = Family(key="XRT", style="tree", make_model=make_model)
