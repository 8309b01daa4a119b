"""Template helpers for the dashboard: the experiments table with each leader's score, number formats."""
from django import template

from webapp.core.models import ModelResult
from webapp.core.wording import algo_name, number, short_score

register = template.Library()


@register.inclusion_tag("_experiments_table.html")
def experiments_table(experiments, show_dataset=True):
    """Experiments with status, leader and its score (one query for all the leaders)."""
    experiments = list(experiments)
    wanted = {(e.pk, e.leader_model_id) for e in experiments if e.leader_model_id}
    leaders = {}
    if wanted:
        rows = ModelResult.objects.filter(experiment_id__in={pk for pk, _ in wanted},
                                          model_id__in={m for _, m in wanted}).only("experiment_id", "model_id",
                                                                                     "algo", "metrics")
        leaders = {(r.experiment_id, r.model_id): r for r in rows}
    items = []
    for e in experiments:
        leader = leaders.get((e.pk, e.leader_model_id))
        items.append({"experiment": e, "leader": leader,
                      "leader_algo": algo_name(leader.algo) if leader else "",
                      "score": short_score(e.task, leader.metrics) if leader else ""})
    finished = sum(1 for e in experiments if e.is_finished and e.leader_model_id)
    return {"items": items, "show_dataset": show_dataset, "comparable": finished >= 2}


@register.filter
def readable(value, digits=3):
    return number(value, int(digits))
