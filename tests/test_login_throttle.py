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


def test_pages_carry_a_content_security_policy_and_private_answers_are_not_stored(owner):
    client = Client()
    client.force_login(owner)
    for path in ("/", "/api/datasets/", "/account/tokens/"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
        assert response["Cache-Control"] == "no-store", path
    anonymous = Client().get("/login/")
    assert "Content-Security-Policy" in anonymous and anonymous.get("Cache-Control") != "no-store"


@pytest.mark.parametrize("password, words", [("12345678901", "entirely numeric"), ("newcomer-2024", "too similar")])
def test_sign_up_refuses_numeric_passwords_and_ones_like_the_username(password, words):
    response = Client().post("/signup/", {"username": "newcomer", "password1": password, "password2": password})
    assert response.status_code == 200 and words in response.content.decode()
