from django import forms
from django.conf import settings

from .options import ALGOS, ExperimentOptions, OptionError

TASK_CHOICES = [("auto", "Decide for me"), ("regression", "Regression (a number)"),
                ("binary", "Binary (yes/no)"), ("multiclass", "Multiclass (categories)")]


class UploadForm(forms.Form):
    file = forms.FileField(required=False, label="CSV file")
    url = forms.URLField(required=False, label="or a link to a CSV file", assume_scheme="https",
                         widget=forms.URLInput(attrs={"placeholder": "https://example.org/data.csv"}))

    def clean(self):
        data = super().clean()
        if not data.get("file") and not data.get("url"):
            raise forms.ValidationError("Choose a CSV file to upload or paste a link to one.")
        return data


BUDGETS = {"quick": 60, "better": 300}
BUDGET_CHOICES = [("quick", "Quick: 1 minute"), ("better", "Better: 5 minutes"), ("custom", "Custom")]
# Also accepted from scripts written for the first version of this form: a time or a model budget.
LEGACY_BUDGETS = [("time", "Time limit"), ("models", "Number of models")]
ALGO_LABELS = {"GLM": "Linear models (GLM)", "DRF": "Random forest (DRF)", "GBM": "Gradient boosting (GBM)",
               "XRT": "Extremely randomized trees (XRT)", "DeepLearning": "Neural networks (DeepLearning)",
               "CatBoost": "Gradient boosting with symmetric trees (CatBoost)",
               "XGBoost": "Gradient boosting with trees grown level by level (XGBoost)",
               "StackedEnsemble": "Stacked ensembles"}


def _metric_choices():
    from automl_engine.metrics import COLUMNS

    from .wording import metric_name

    choices = [("", "Automatic (the usual one for the task)")]
    for task, metrics in COLUMNS.items():
        choices.append((task.capitalize(), [(f"{task}:{m}", metric_name(m)) for m in metrics]))
    return choices


class ExperimentForm(forms.Form):
    """A new experiment: the target, the task, a budget preset, and the advanced settings."""
    target = forms.ChoiceField(label="Column to predict")
    task = forms.ChoiceField(choices=TASK_CHOICES, initial="auto", label="Kind of prediction")
    budget = forms.ChoiceField(choices=BUDGET_CHOICES + LEGACY_BUDGETS, initial="quick", widget=forms.RadioSelect,
                               label="Budget")
    max_runtime_secs = forms.IntegerField(min_value=5, required=False, label="Time limit, seconds")
    max_models = forms.IntegerField(min_value=1, max_value=500, required=False, label="Number of models")
    sort_metric = forms.ChoiceField(required=False, label="Rank models by")
    nfolds = forms.IntegerField(min_value=0, max_value=10, initial=5, label="Cross-validation folds")
    algos = forms.MultipleChoiceField(choices=[(a, ALGO_LABELS.get(a, a)) for a in ALGOS], initial=list(ALGOS),
                                      required=False, widget=forms.CheckboxSelectMultiple, label="Algorithms to try")
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=1, required=False, label="Random seed")
    test_split = forms.IntegerField(min_value=0, max_value=50, initial=0, required=False,
                                    label="Rows kept aside for a final test, %")
    use_columns = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                            label="Columns to learn from")

    def __init__(self, *args, columns=(), target_tasks=None, column_kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.target_tasks = target_tasks or {}
        self.fields["target"].choices = [(c, c) for c in columns]
        # {name: (type, reason)} from the dataset's profile: identifiers and constant columns start unticked
        self.column_kinds = column_kinds or {}
        self.fields["use_columns"].choices = [(c, c) for c in columns]
        self.fields["use_columns"].initial = [c for c in columns if not self._set_aside(c)]
        self.fields["max_runtime_secs"].max_value = settings.MAX_RUNTIME_SECS_LIMIT
        self.fields["sort_metric"].choices = _metric_choices()
        self.fields["budget"].widget.choices = BUDGET_CHOICES

    def clean(self):
        """The page's fields (budget presets, a percent test split, algorithm checkboxes) turned into the
        settings the API takes, and checked by the same ExperimentOptions: ``cleaned_data["options"]``."""
        data = super().clean()
        if data.get("nfolds") == 1:
            self.add_error("nfolds", "Use 0 (a single holdout) or 2 folds or more.")
        self._clean_budget(data)
        algos = data.get("algos") or []
        if not algos and not self.data.get("algos_shown"):  # a client that does not send the checkboxes
            left_out = self.data.getlist("exclude_algos") if hasattr(self.data, "getlist") else []
            algos = [a for a in ALGOS if a not in left_out]
        if not [a for a in algos if a != "StackedEnsemble"]:
            self.add_error("algos", "Keep at least one algorithm besides stacked ensembles.")
        data["exclude_algos"] = [a for a in ALGOS if a not in algos]
        self._clean_metric(data)
        if not self.errors:
            try:
                data["options"] = ExperimentOptions.parse({
                    "max_models": data.get("max_models"), "max_runtime_secs": data.get("max_runtime_secs"),
                    "nfolds": data.get("nfolds"), "seed": data.get("seed"), "sort_metric": data.get("sort_metric"),
                    "exclude_algos": data["exclude_algos"], "test_split": (data.get("test_split") or 0) / 100,
                    **self._column_choice(data)})
            except OptionError as exc:
                self.add_error(None, str(exc))
        return data

    def _set_aside(self, column: str) -> bool:
        """Whether the engine leaves this column out unless asked to use it (an ID or a constant)."""
        return self.column_kinds.get(column, ("", ""))[0] in ("id", "constant")

    def columns_to_show(self) -> list[dict]:
        """The column checkboxes, each with the reason the ones set aside by default have."""
        chosen = set(self["use_columns"].value() or [])
        return [{"name": name, "checked": name in chosen, "set_aside": self._set_aside(name),
                 "constant": self.column_kinds.get(name, ("", ""))[0] == "constant",
                 "reason": self.column_kinds.get(name, ("", ""))[1] if self._set_aside(name) else ""}
                for name, _ in self.fields["use_columns"].choices]

    def _column_choice(self, data) -> dict:
        """The ticked columns as the API's settings: the usual columns left unticked are left out, the
        identifiers ticked are kept. A client that does not send the checkboxes keeps the defaults."""
        if not self.data.get("columns_shown"):
            return {}
        chosen, target = set(data.get("use_columns") or []), data.get("target")
        names = [name for name, _ in self.fields["use_columns"].choices if name != target]
        return {"ignore_columns": [c for c in names if c not in chosen and not self._set_aside(c)],
                "keep_columns": [c for c in names if c in chosen and self.column_kinds.get(c, ("",))[0] == "id"]}

    def _clean_budget(self, data):
        budget = data.get("budget")
        limit = settings.MAX_RUNTIME_SECS_LIMIT
        if budget in BUDGETS:
            data["max_runtime_secs"], data["max_models"] = min(BUDGETS[budget], limit), None
            return
        if budget == "models":
            data["max_runtime_secs"] = None
        elif budget == "time":
            data["max_models"] = None
        if not data.get("max_runtime_secs") and not data.get("max_models"):
            self.add_error("max_runtime_secs", "Give a time limit in seconds, a number of models, or both.")

    def _clean_metric(self, data):
        value = data.get("sort_metric") or ""
        data["sort_metric"] = ""
        if not value or not data.get("target"):
            return
        metric_task, _, metric = value.partition(":")
        task = data.get("task") or "auto"
        if task == "auto":
            task = self.target_tasks.get(data["target"], {}).get("task")
        if task and metric_task != task:
            self.add_error("sort_metric", f"That measure is for {metric_task} tasks; predicting "
                                          f"'{data['target']}' is a {task} task.")
            return
        data["sort_metric"] = metric


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)
