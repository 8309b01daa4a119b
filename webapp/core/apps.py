from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "webapp.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"
