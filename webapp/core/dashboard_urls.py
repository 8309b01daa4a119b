"""The dashboard's pages beyond the basics in webapp/urls.py: new experiment, results, models, predict."""
from django.urls import path

from . import model_pages, pages, predict_pages

urlpatterns = [
    path("samples/<slug:name>/", pages.sample_dataset, name="sample"),
    path("datasets/<int:pk>/new-experiment/", pages.new_experiment, name="experiment-new"),
    path("datasets/<int:pk>/target-check.json", pages.target_check, name="target-check"),
    path("experiments/<int:pk>/results/", model_pages.results_fragment, name="experiment-results"),
    path("experiments/<int:pk>/predict/", predict_pages.predict_page, name="predict"),
    path("experiments/<int:pk>/predictions/<str:token>/<str:kind>.csv", predict_pages.predictions_download,
         name="predictions-download"),
    path("experiments/<int:pk>/models/<str:model_id>/", model_pages.model_page, name="model"),
    path("experiments/<int:pk>/models/<str:model_id>/charts.json", model_pages.model_charts, name="model-charts"),
    path("experiments/<int:pk>/models/<str:model_id>/pdp.json", model_pages.model_pdp, name="model-pdp"),
    path("experiments/<int:pk>/models/<str:model_id>/card/", model_pages.model_card_page, name="model-card"),
    path("experiments/<int:pk>/models/<str:model_id>/export/", model_pages.model_export, name="model-export"),
]
