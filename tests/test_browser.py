"""A user in Debian chromium: sign up, upload the wine file, watch the leaderboard fill, download the leader."""
import os
import shutil

import pandas as pd
import pytest

from automl_engine import load_model
from tests.helpers import ARTIFACTS, DATA

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def page():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (scripts/install-chromium.sh)")
        pytest.skip("chromium is not installed")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        yield pg
        context.close()
        browser.close()


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_upload_train_watch_and_download_in_the_browser(page, live_server, worker_process, tmp_path):
    page.goto(f"{live_server.url}/signup/")
    page.fill("#id_username", "wine-lover")
    page.fill("#id_password1", "a-long-passphrase-9")
    page.fill("#id_password2", "a-long-passphrase-9")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.set_input_files("#id_file", str(DATA / "wine_quality_train.csv"))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#preview")
    assert page.locator("#preview tbody tr").count() == 10
    assert page.locator("#columns tbody tr").count() == 13
    assert "numeric" in page.locator("#columns tbody tr", has_text="quality").inner_text()
    assert "categorical" in page.locator("#columns tbody tr", has_text="type").inner_text()
    shot(page, "01-dataset")

    page.select_option("#id_target", "quality")
    page.check("input[name=budget][value=custom]")
    page.fill("#id_max_models", "5")
    page.click("#experiment-form button[type=submit]")
    page.wait_for_selector("#leaderboard")

    # Rows must appear while the run is still going, without a reload.
    page.wait_for_function(
        "document.querySelectorAll('#leaderboard tbody tr').length >= 1 && "
        "document.getElementById('status').textContent.trim() === 'running'", timeout=120_000)
    rows_while_running = page.locator("#leaderboard tbody tr").count()
    assert rows_while_running >= 1
    shot(page, "02-running")

    page.wait_for_function("document.getElementById('status').textContent.trim() === 'succeeded'",
                           timeout=240_000)
    rows = page.locator("#leaderboard tbody tr")
    assert rows.count() >= 5  # GLM, DRF, GBM, XRT, GBM_2 and the ensembles
    assert "leader" in rows.first.get_attribute("class").split()
    names = " ".join(rows.all_inner_texts())
    for algo in ("GLM_1", "DRF_1", "GBM_1"):
        assert algo in names
    assert page.locator("#leader-card").is_visible()
    assert "load_model" in page.locator("#leader-card pre").inner_text()
    shot(page, "03-finished")

    with page.expect_download() as info:
        page.click("#leader-download")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    model = load_model(path)
    test = pd.read_csv(DATA / "wine_quality_test.csv")
    preds = model.predict(test)
    assert len(preds) == len(test) and preds["predict"].between(3, 9).all()
