import os

import pytest

from tests.helpers import WorkerProcess

SERVICES_REQUIRED = os.environ.get("CI") == "true"


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner", password="owner-pass-123")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("other", password="other-pass-123")


def _token_client(user):
    from django.test import Client

    from webapp.core.models import ApiToken

    _, key = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def owner_api(owner):
    return _token_client(owner)


@pytest.fixture
def other_api(other_user):
    return _token_client(other_user)


@pytest.fixture(scope="session")
def worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker process for the whole session, on the test database and broker."""
    worker = WorkerProcess("e2e").start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session", autouse=True)
def _production_services_when_ci():
    """With CI=true the suite must run on PostgreSQL and Redis, never silently on the fallbacks."""
    if SERVICES_REQUIRED:
        from django.conf import settings

        assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), "CI needs PostgreSQL"
        assert os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), "CI needs Redis"
