from django import forms
from django.conf import settings

from .services import ALGOS

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


class ExperimentForm(forms.Form):
    target = forms.ChoiceField(label="Column to predict")
    task = forms.ChoiceField(choices=TASK_CHOICES, initial="auto", label="Kind of prediction")
    budget = forms.ChoiceField(choices=[("time", "Time limit"), ("models", "Number of models")], initial="time",
                               widget=forms.RadioSelect, label="Budget")
    max_runtime_secs = forms.IntegerField(min_value=5, initial=60, required=False, label="Seconds")
    max_models = forms.IntegerField(min_value=1, max_value=500, initial=10, required=False, label="Models")
    nfolds = forms.IntegerField(min_value=0, max_value=10, initial=5, label="Cross-validation folds")
    seed = forms.IntegerField(initial=1, label="Random seed")
    exclude_algos = forms.MultipleChoiceField(choices=[(a, a) for a in ALGOS], required=False,
                                              widget=forms.CheckboxSelectMultiple, label="Leave out")

    def __init__(self, *args, columns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [(c, c) for c in columns]
        self.fields["max_runtime_secs"].max_value = settings.MAX_RUNTIME_SECS_LIMIT

    def clean(self):
        data = super().clean()
        if data.get("nfolds") == 1:
            self.add_error("nfolds", "Use 0 (a single holdout) or 2 folds or more.")
        if data.get("budget") == "models":
            if not data.get("max_models"):
                self.add_error("max_models", "Give the number of models to train.")
            data["max_runtime_secs"] = None
        else:
            secs = data.get("max_runtime_secs")
            if not secs:
                self.add_error("max_runtime_secs", "Give a time limit in seconds.")
            elif secs > settings.MAX_RUNTIME_SECS_LIMIT:
                self.add_error("max_runtime_secs", f"The limit is {settings.MAX_RUNTIME_SECS_LIMIT} seconds.")
            data["max_models"] = None
        return data


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)
