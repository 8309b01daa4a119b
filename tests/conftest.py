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
def _static_files_collected():
    """The pages name static files by their hashed names, as in production: collect them (with their
    gzip and brotli copies) into this run's STATIC_ROOT before anything is served."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="session")
def live_server(request, _static_files_collected):
    """pytest-django's live server, with static files served by WhiteNoise as in production (hashed,
    compressed, cached for a year) rather than by Django's test handler in front of it."""
    from django.core.servers.basehttp import ThreadedWSGIServer
    from pytest_django.live_server_helper import LiveServer

    class Server(ThreadedWSGIServer):
        # Django's queue of 10 waiting connections resets some of the 40 that the limit-race test
        # opens at once on a busy machine; gunicorn, in production, queues 2048.
        request_queue_size = 128

    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    server.thread.static_handler = lambda handler: handler
    server.thread.server_class = Server
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def _production_services_when_ci():
    """With CI=true the suite must run on PostgreSQL and Redis, never silently on the fallbacks."""
    if SERVICES_REQUIRED:
        from django.conf import settings

        assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), "CI needs PostgreSQL"
        assert os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), "CI needs Redis"


LONG_FILES = ("test_browser.py", "test_faults.py", "test_onnx_export.py", "test_e2e_worker.py")


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering of database tests
def pytest_collection_modifyitems(items):
    """The longest files first: in a run of two processes each file is one process's share, and a long
    file handed out last would run alone at the end while the other process sits idle."""
    items.sort(key=lambda item: LONG_FILES.index(item.path.name) if item.path.name in LONG_FILES else len(LONG_FILES))
