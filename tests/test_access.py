"""Accounts and access: sign-up, log-in, log-out, ownership (404 for everyone else), API tokens,
the admin, CSRF on every form, security headers and the production settings check."""
import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from webapp.core import runs
from webapp.core.models import ApiToken, Dataset, Experiment
from tests.helpers import ROOT, synthetic

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, name="data.csv"):
    return client.post("/api/datasets/", {"file": SimpleUploadedFile(name, content, "text/csv")})


def queued_experiment(api) -> tuple[int, int]:
    """(dataset id, experiment id) of a small experiment created through the API."""
    dataset_id = upload(api, synthetic("binary", n=80).to_csv(index=False).encode()).json()["id"]
    body = {"dataset": dataset_id, "target": "y", "max_models": 1, "nfolds": 2, "include_algos": ["GLM"]}
    experiment_id = api.post("/api/experiments/", json.dumps(body), content_type="application/json").json()["id"]
    return dataset_id, experiment_id


def finished_experiment(api) -> tuple[int, int, str]:
    """(dataset id, experiment id, leader) of a small run made through the API."""
    dataset_id, experiment_id = queued_experiment(api)
    assert runs.run_experiment(experiment_id, "test") == "succeeded"
    return dataset_id, experiment_id, Experiment.objects.get(pk=experiment_id).leader_model_id


def csrf_token_from(response) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content).group(1).decode()


def test_sign_up_log_out_and_log_in_again_with_csrf_enforced():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/signup/")
    response = client.post("/signup/", {"username": "ada", "password1": "a-long-passphrase-9",
                                        "password2": "a-long-passphrase-9",
                                        "csrfmiddlewaretoken": csrf_token_from(page)})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and b"Log out (ada)" in home.content
    assert client.post("/logout/", {"csrfmiddlewaretoken": csrf_token_from(home)}).status_code == 302
    assert client.get("/").status_code == 302  # back to the log-in page
    login = client.get("/login/")
    wrong = client.post("/login/", {"username": "ada", "password": "not-it",
                                    "csrfmiddlewaretoken": csrf_token_from(login)})
    assert wrong.status_code == 200 and client.get("/").status_code == 302
    right = client.post("/login/", {"username": "ada", "password": "a-long-passphrase-9",
                                    "csrfmiddlewaretoken": csrf_token_from(login)})
    assert right.status_code == 302 and client.get("/").status_code == 200


@pytest.mark.parametrize("url", ["/signup/", "/login/"])
def test_posts_without_the_csrf_token_are_refused(url):
    assert Client(enforce_csrf_checks=True).post(url, {"username": "x", "password": "y"}).status_code == 403


def test_every_form_on_every_page_carries_a_csrf_token_and_is_refused_without_it(owner, owner_api):
    dataset_id, experiment_id = queued_experiment(owner_api)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    pages = ["/", f"/datasets/{dataset_id}/", f"/experiments/{experiment_id}/", "/account/tokens/"]
    actions = set()
    for page in pages:
        html = client.get(page).content.decode()
        forms = re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S | re.I)
        for form in forms:
            if re.search(r'method="post"', form, flags=re.I):
                assert "csrfmiddlewaretoken" in form, (page, form[:200])
                action = re.search(r'action="([^"]*)"', form)
                actions.add(action.group(1) if action and action.group(1) else page)
    assert {"/logout/", "/", f"/datasets/{dataset_id}/", "/account/tokens/"} <= actions
    for action in actions:
        assert client.post(action, {}).status_code == 403, action


def test_other_users_get_404_for_everything_of_the_owner_through_pages_and_api(
        owner, other_user, owner_api, other_api):
    dataset_id, experiment_id, leader = finished_experiment(owner_api)
    new = synthetic("binary", n=20, seed=2).drop(columns=["y"]).to_csv(index=False).encode()
    assert owner_api.post(f"/api/experiments/{experiment_id}/predict/",
                          {"file": SimpleUploadedFile("new.csv", new)}).status_code == 200
    api_gets = [f"/api/datasets/{dataset_id}/", f"/api/experiments/{experiment_id}/",
                f"/api/experiments/{experiment_id}/leader/download/",
                f"/api/experiments/{experiment_id}/models/{leader}/download/"]
    for url in api_gets:
        assert owner_api.get(url).status_code == 200, url
        assert other_api.get(url).status_code == 404, url
    predict = other_api.post(f"/api/experiments/{experiment_id}/predict/", {"file": SimpleUploadedFile("n.csv", new)})
    assert predict.status_code == 404
    assert other_api.post(f"/api/experiments/{experiment_id}/cancel/").status_code == 404
    other_body = {"dataset": dataset_id, "target": "y"}
    assert other_api.post("/api/experiments/", json.dumps(other_body), content_type="application/json").status_code == 404
    assert other_api.get("/api/datasets/").json()["datasets"] == []

    mine = Client()
    mine.force_login(owner)
    scored = mine.post(f"/experiments/{experiment_id}/predict/", {"file": SimpleUploadedFile("n.csv", new),
                                                                   "model": leader})
    predictions = re.search(rb'href="(/experiments/%d/predictions/[^"]+)"' % experiment_id, scored.content)
    assert predictions and mine.get(predictions.group(1).decode()).status_code == 200
    pages = Client()
    pages.force_login(other_user)
    for url in [f"/datasets/{dataset_id}/", f"/datasets/{dataset_id}/new-experiment/",
                f"/datasets/{dataset_id}/target-check.json?target=y", f"/experiments/{experiment_id}/",
                f"/experiments/{experiment_id}/status.json", f"/experiments/{experiment_id}/results/",
                f"/experiments/{experiment_id}/leader/download/", f"/experiments/{experiment_id}/predict/",
                predictions.group(1).decode(), f"/experiments/{experiment_id}/models/{leader}/",
                f"/experiments/{experiment_id}/models/{leader}/charts.json",
                f"/experiments/{experiment_id}/models/{leader}/pdp.json?feature=x1",
                f"/experiments/{experiment_id}/models/{leader}/download/"]:
        assert mine.get(url).status_code == 200, url
        assert pages.get(url).status_code == 404, url
    assert pages.post(f"/experiments/{experiment_id}/cancel/").status_code == 404
    assert pages.post(f"/datasets/{dataset_id}/", {"target": "y"}).status_code == 404
    assert pages.post(f"/experiments/{experiment_id}/predict/", {"file": SimpleUploadedFile("n.csv", new)}
                      ).status_code == 404
    assert Experiment.objects.get(pk=experiment_id).cancel_requested is False


def test_stored_files_have_no_public_url(owner, owner_api, other_user):
    _, experiment_id, leader = finished_experiment(owner_api)
    files = [Dataset.objects.get().file.name,
             Experiment.objects.get(pk=experiment_id).results.get(model_id=leader).file.name]
    for user in (owner, other_user, None):
        client = Client()
        if user:
            client.force_login(user)
        for name in files:
            for prefix in ("/", "/media/", "/static/"):
                assert client.get(prefix + name).status_code == 404, (user, prefix + name)


def test_anonymous_visitors_are_sent_to_log_in_or_get_401(owner_api):
    dataset_id, experiment_id = queued_experiment(owner_api)
    anonymous = Client()
    for url in [f"/datasets/{dataset_id}/", f"/experiments/{experiment_id}/",
                f"/experiments/{experiment_id}/leader/download/", "/account/tokens/"]:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    for url in [f"/api/datasets/{dataset_id}/", f"/api/experiments/{experiment_id}/leader/download/"]:
        assert anonymous.get(url).status_code == 401, url


def test_api_tokens_are_per_user_and_revocable_through_the_api(owner_api, other_api, owner):
    refused = owner_api.post("/api/tokens/")  # a token cannot mint tokens unless it was given that scope
    assert refused.status_code == 403 and "cannot create tokens" in refused.json()["error"]
    _, minting_key = ApiToken.issue(owner, can_create_tokens=True)
    minting = Client(HTTP_AUTHORIZATION=f"Token {minting_key}")
    created = minting.post("/api/tokens/")
    assert created.status_code == 201 and created.json()["can_create_tokens"] is False
    key, token_id = created.json()["key"], created.json()["id"]
    fresh = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert fresh.get("/api/datasets/").status_code == 200
    listed = owner_api.get("/api/tokens/").json()["tokens"]
    assert token_id in [t["id"] for t in listed] and all("key" not in t for t in listed)
    assert other_api.post(f"/api/tokens/{token_id}/revoke/").status_code == 404
    assert fresh.get("/api/datasets/").status_code == 200
    revoked = owner_api.post(f"/api/tokens/{token_id}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = fresh.get("/api/datasets/")
    assert response.status_code == 401 and "revoked" in response.json()["error"]
    assert owner_api.get("/api/datasets/").status_code == 200  # the owner's other token still works
    assert ApiToken.objects.filter(user=owner).count() == 3


def test_a_token_can_expire(owner, client):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(owner)
    created = client.post("/api/tokens/", json.dumps({"expires_in_days": 7}), content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["expires_at"] and not body["can_create_tokens"]
    token = Client(HTTP_AUTHORIZATION=f"Token {body['key']}")
    assert token.get("/api/datasets/").status_code == 200
    ApiToken.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token.get("/api/datasets/").status_code == 401
    bad = client.post("/api/tokens/", json.dumps({"expires_in_days": 0}), content_type="application/json")
    assert bad.status_code == 400 and "whole number of days" in bad.json()["error"]
    page = client.post("/account/tokens/", {"expires_in_days": "30", "can_create_tokens": "on"})
    assert page.status_code == 201 and ApiToken.objects.filter(user=owner, can_create_tokens=True).count() == 1


def test_api_tokens_page_creates_shows_once_and_revokes(owner):
    client = Client()
    client.force_login(owner)
    created = client.post("/account/tokens/")
    key = re.search(rb'<code id="new-token">([^<]+)</code>', created.content).group(1).decode()
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/datasets/").status_code == 200
    assert key.encode() not in client.get("/account/tokens/").content
    token = ApiToken.objects.get(user=owner)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/datasets/").status_code == 401


def test_the_revoke_command_revokes_a_users_tokens(owner):
    _, key = ApiToken.issue(owner)
    call_command("revoke_api_tokens", "owner")
    assert ApiToken.user_for_key(key) is None


def test_tokens_of_deactivated_users_stop_working(owner):
    _, key = ApiToken.issue(owner)
    owner.is_active = False
    owner.save()
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/datasets/").status_code == 401


def test_the_admin_is_for_staff_only(owner, django_user_model):
    staff = django_user_model.objects.create_user("staff", password="staff-pass-123", is_staff=True,
                                                  is_superuser=True)
    client = Client()
    client.force_login(owner)
    assert client.get("/admin/").status_code == 302  # to the admin's own log-in page
    assert client.get("/admin/core/experiment/").status_code == 302
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/core/experiment/").status_code == 200
    _, key = ApiToken.issue(owner)
    token = ApiToken.objects.get(user=owner)
    client.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert ApiToken.user_for_key(key) is None


def test_responses_carry_security_headers_and_safe_cookies(client):
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    cookie = response.cookies["csrftoken"]
    assert cookie["samesite"] == "Lax"


def _last_line(result) -> str:
    return result.stdout.strip().splitlines()[-1]


def _manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "HTTPS", "DEBUG", "ALLOWED_HOSTS")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    production = {"SECRET_KEY": secrets.token_urlsafe(50), "HTTPS": "true", "DEBUG": "false",
                  "ALLOWED_HOSTS": "automl.example.org", "DATA_DIR": str(tmp_path)}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # and it does complain on the embedded (plain http) defaults, so the check is really made
    embedded = _manage("check", "--deploy", "--fail-level", "WARNING", DATA_DIR=str(tmp_path))
    assert embedded.returncode != 0 and "SESSION_COOKIE_SECURE" in embedded.stderr + embedded.stdout


def test_without_a_secret_key_one_is_made_once_and_kept_private(tmp_path):
    show = ["shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"]
    first = _last_line(_manage(*show, DATA_DIR=str(tmp_path)))
    second = _last_line(_manage(*show, DATA_DIR=str(tmp_path)))
    assert len(first) >= 50 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert _last_line(_manage(*show, DATA_DIR=str(tmp_path), SECRET_KEY="from-the-environment")) == \
        "from-the-environment"
