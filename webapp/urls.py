from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp.core import account, api, pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("datasets/<int:pk>/", pages.dataset_page, name="dataset"),
    path("", include("webapp.core.dashboard_urls")),
    path("experiments/<int:pk>/", views.experiment_detail, name="experiment"),
    path("experiments/<int:pk>/status.json", views.experiment_status, name="experiment-status"),
    path("experiments/<int:pk>/cancel/", views.experiment_cancel, name="experiment-cancel"),
    path("experiments/<int:pk>/delete/", views.experiment_delete, name="experiment-delete"),
    path("experiments/<int:pk>/rerun/", views.experiment_rerun, name="experiment-rerun"),
    path("compare/", pages.compare_page, name="compare"),
    path("experiments/<int:pk>/continue/", views.experiment_continue, name="experiment-continue"),
    path("datasets/<int:pk>/delete/", views.dataset_delete, name="dataset-delete"),
    path("experiments/<int:pk>/leader/download/", views.leader_download, name="leader-download"),
    path("experiments/<int:pk>/models/<str:model_id>/download/", views.model_download, name="model-download"),
    path("account/tokens/", account.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", account.token_revoke, name="token-revoke"),
    path("healthz", views.healthz, name="healthz"),
    path("api/datasets/", api.datasets, name="api-datasets"),
    path("api/datasets/<int:pk>/", api.dataset_detail, name="api-dataset"),
    path("api/experiments/", api.experiments, name="api-experiments"),
    path("api/experiments/estimate/", api.experiment_estimate, name="api-experiment-estimate"),
    path("api/compare/", api.compare_experiments, name="api-compare"),
    path("api/experiments/<int:pk>/", api.experiment_detail, name="api-experiment"),
    path("api/experiments/<int:pk>/cancel/", api.experiment_cancel, name="api-experiment-cancel"),
    path("api/experiments/<int:pk>/receipt/", api.experiment_receipt, name="api-experiment-receipt"),
    path("api/experiments/<int:pk>/rerun/", api.experiment_rerun, name="api-experiment-rerun"),
    path("api/experiments/<int:pk>/continue/", api.experiment_continue, name="api-experiment-continue"),
    path("api/experiments/<int:pk>/leader/download/", api.leader_download, name="api-leader-download"),
    path("api/experiments/<int:pk>/models/<str:model_id>/download/", api.model_download,
         name="api-model-download"),
    path("api/experiments/<int:pk>/predict/", api.predict, name="api-predict"),
    path("api/experiments/<int:pk>/models/<str:model_id>/predict/", api.model_predict, name="api-model-predict"),
    path("api/experiments/<int:pk>/models/<str:model_id>/export/", api.model_export, name="api-model-export"),
    path("api/schema/", api.schema, name="api-schema"),
    path("api/docs/", api.docs, name="api-docs"),
    path("api/predictions/<int:pk>/", api.prediction_job, name="api-prediction"),
    path("api/predictions/<int:pk>/download/", api.prediction_download, name="api-prediction-download"),
    path("predictions/<int:pk>/", views.prediction_job_page, name="prediction-job"),
    path("predictions/<int:pk>/download/", views.prediction_job_download, name="prediction-job-download"),
    path("api/tokens/", api.tokens, name="api-tokens"),
    path("api/tokens/<int:pk>/revoke/", api.token_revoke, name="api-token-revoke"),
    path("admin/", admin.site.urls),
]

# Any exception no view handled: a 503 when the database or broker is away, else a plain 500.
handler500 = "webapp.core.errors.server_error"
