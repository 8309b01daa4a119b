"""Sign-in and API tokens are throttled: wrong passwords and wrong tokens lock out for a while."""
import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_counts():
    """No wrong-token counts left from before or for after (only this test's keys are touched)."""
    keys = [f"token-failures:{address}" for address in ("127.0.0.1", "10.9.8.7")]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_account_out_even_with_the_right_one_then(owner, settings, path):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for _ in range(5):
        response = client.post(path, {"username": "owner", "password": "wrong-guess"})
        assert response.status_code in (200, 429)
    locked = client.post(path, {"username": "owner", "password": "owner-pass-123"})
    assert locked.status_code == 429 and b"Too many wrong passwords" in locked.content
    assert b"15 minutes" in locked.content
    assert "_auth_user_id" not in client.session  # the right password did not get in while locked


def test_the_lock_ends_by_itself(owner, settings, monkeypatch):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        login(client, "owner", "wrong-guess")
    assert login(client, "owner", "owner-pass-123").status_code == 429
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.first().attempt_time - settings.AXES_COOLOFF_TIME * 2)
    assert login(client, "owner", "owner-pass-123").status_code == 302  # signed in


def test_a_few_mistakes_do_not_lock_anyone_out(owner):
    client = Client()
    for _ in range(3):
        assert login(client, "owner", "wrong-guess").status_code == 200
    assert login(client, "owner", "owner-pass-123").status_code == 302


def test_wrong_api_tokens_from_one_address_get_429_then(owner, settings):
    settings.TOKEN_FAILURE_LIMIT = 4
    client = Client()
    for _ in range(4):
        assert client.get("/api/datasets/", HTTP_AUTHORIZATION="Token guess").status_code == 401
    refused = client.get("/api/datasets/", HTTP_AUTHORIZATION="Token guess")
    assert refused.status_code == 429 and "Too many wrong API tokens" in refused.json()["error"]
    assert int(refused["Retry-After"]) == settings.TOKEN_LOCKOUT_SECS
    other = Client(REMOTE_ADDR="10.9.8.7")  # another address is not affected
    assert other.get("/api/datasets/", HTTP_AUTHORIZATION="Token guess").status_code == 401
