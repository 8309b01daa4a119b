from django.contrib import admin
from django.utils import timezone

from .models import ApiToken, Dataset, Experiment, ModelResult


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "n_rows", "n_cols", "created_at")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "status", "leader_model_id", "created_at")
    list_filter = ("status",)


@admin.register(ModelResult)
class ModelResultAdmin(admin.ModelAdmin):
    list_display = ("model_id", "experiment", "algo", "status", "training_time_ms")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "prefix", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = ("key_hash", "prefix")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).")
