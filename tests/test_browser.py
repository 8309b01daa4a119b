"""People in Debian chromium walk every page on a regression, a binary and a multiclass dataset, with a
real worker; each page is saved as a desktop (1280 px) and a phone (390 px) screenshot in test-artifacts/."""
import io
import os
import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from automl_engine import load_model
from tests.helpers import ARTIFACTS, DATA

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
RUN_TIMEOUT = 240_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser(monkeypatch):
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (scripts/install-chromium.sh)")
        pytest.skip("chromium is not installed")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        # The pages run under a Content-Security-Policy without 'unsafe-eval'; Playwright's own waiting
        # evaluates strings in the page, so the walk-throughs bypass it. The policy itself is checked
        # in a strict context (test_the_pages_pass_their_content_security_policy).
        context = launched.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                       bypass_csp=True)
        context.strict = launched.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        yield context
        context.strict.close()
        context.close()
        launched.close()


@pytest.fixture
def page(browser):
    return browser.new_page()


def reveal(pg):
    """Scroll through the page so the charts drawn on approach are drawn (once the page's scripts have
    run: before that, no chart is waiting to be drawn, and scrolling past it draws nothing)."""
    pg.wait_for_load_state("load")
    height = pg.evaluate("document.body.scrollHeight")
    for y in range(0, height + 900, 700):
        pg.evaluate(f"window.scrollTo(0, {y})")
        pg.wait_for_timeout(60)
    pg.evaluate("window.scrollTo(0, 0)")
    pg.wait_for_timeout(300)


def capture(pg, path):
    """The whole page as one picture: the window is made as tall as the page, then shot. (Chromium's
    own full-page capture beyond the window can stall on long pages full of charts under load.)"""
    size = pg.viewport_size
    height = min(pg.evaluate("document.documentElement.scrollHeight"), 9000)
    pg.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    pg.wait_for_timeout(600)
    try:
        pg.screenshot(path=str(path), timeout=30_000)
    except PlaywrightTimeout:
        # A very tall window of charts can stall headless Chromium's painting on a busy machine;
        # the screen-sized picture is still worth keeping, and the test's assertions stand.
        pg.set_viewport_size(size)
        pg.wait_for_timeout(600)
        try:
            pg.screenshot(path=str(path), timeout=60_000)
        except PlaywrightTimeout:  # the picture is for people to look at; the assertions do not need it
            print(f"\nno screenshot {path.name}: Chromium did not paint within 60 s")
    pg.set_viewport_size(size)


def shot(pg, name, reopen=True):
    """The page as it is (desktop), and on a phone-sized screen: the same address opened again, or (for a
    page that answers a form) the same page narrowed."""
    reveal(pg)
    capture(pg, ARTIFACTS / f"{name}.png")
    phone = pg.context.new_page() if reopen else pg
    phone.set_viewport_size(PHONE)
    if reopen:
        phone.bring_to_front()  # a tab in the background may not paint, and a screenshot waits for paint
        phone.goto(pg.url)
        phone.wait_for_load_state("networkidle")
    reveal(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, f"{name} is wider than a phone"
    capture(phone, ARTIFACTS / f"{name}-phone.png")
    if reopen:
        phone.close()
        pg.bring_to_front()
    else:
        pg.set_viewport_size({"width": 1280, "height": 900})


def assert_score_in_view_on_a_phone(pg):
    """On a phone-sized screen each leaderboard row shows its model and its score without scrolling."""
    phone = pg.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(pg.url)
    phone.wait_for_selector("#leaderboard tbody tr td.model-name")
    header = phone.locator("#leaderboard thead th").nth(2)
    score = phone.locator("#leaderboard tbody tr").first.locator("td").nth(2)
    for cell in (header, score):
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"], cell.inner_text()
    assert score.inner_text().strip() not in ("", "–")
    phone.close()
    pg.bring_to_front()


def three_models_three_folds(pg):
    """A custom budget of three models, and three folds under the advanced settings."""
    pg.check("input[name=budget][value=custom]")
    pg.fill("#id_max_runtime_secs", "")
    pg.fill("#id_max_models", "3")
    pg.click("#advanced summary")
    pg.fill("#id_nfolds", "3")


def sign_up(pg, base, name):
    pg.goto(f"{base}/signup/")
    pg.fill("#id_username", name)
    pg.fill("#id_password1", "a-long-passphrase-9")
    pg.fill("#id_password2", "a-long-passphrase-9")
    pg.click("button[type=submit]")
    pg.wait_for_url(f"{base}/")


def upload(pg, path):
    pg.set_input_files("#id_file", str(path))
    pg.click("#upload-form button[type=submit]")
    pg.wait_for_selector("#preview")


def plotted(pg, scope: str) -> list[dict]:
    """For each drawn chart in scope: its titles, help line, trace count and the most points in a trace.

    Charts are drawn as they come into view, one after another: first give each one time to be drawn."""
    try:
        pg.wait_for_function("""scope => Array.from(document.querySelectorAll(scope + ' figure.chart')).every(f => {
            const plot = f.querySelector('.js-plotly-plot');
            return plot && plot.data && plot.data.length > 0;
        })""", arg=scope, timeout=45_000)
    except PlaywrightTimeout:
        pass  # the assertions on what was drawn say which chart is missing
    return pg.evaluate("""scope => Array.from(document.querySelectorAll(scope + ' figure.chart')).map(f => {
        const plot = f.querySelector('.js-plotly-plot');
        const n = plot ? Math.max(0, ...plot.data.map(t => (t.x || t.z || []).length)) : 0;
        return {key: f.dataset.chart, title: plot ? plot.layout.title.text : null, traces: plot ? plot.data.length : 0,
                points: n, help: f.querySelector('figcaption').textContent,
                xtitle: plot ? plot.layout.xaxis.title.text : null, ytitle: plot ? plot.layout.yaxis.title.text : null};
    })""", scope)


def assert_charts_drawn(charts, keys):
    by_key = {c["key"]: c for c in charts}
    for key in keys:
        chart = by_key.get(key)
        assert chart, f"chart {key} missing from {list(by_key)}"
        assert chart["title"] and chart["xtitle"] and chart["ytitle"] and chart["help"], chart
        assert chart["traces"] >= 1 and chart["points"] >= 2, chart


def wait_for_status(pg, word, timeout=RUN_TIMEOUT):
    pg.wait_for_function(f"document.getElementById('status').textContent.trim() === '{word}'", timeout=timeout)


def wait_for_model_charts(pg, count):
    pg.wait_for_function(f"document.querySelectorAll('#model-charts figure.chart').length >= {count}")
    reveal(pg)
    pg.wait_for_function(f"document.querySelectorAll('#model-charts figure.chart .js-plotly-plot').length >= {count}")


def test_regression_with_the_one_click_wine_sample(page, live_server, worker_process, tmp_path):
    base = live_server.url
    sign_up(page, base, "wine-lover")
    shot(page, "01-home-empty")
    page.click("#sample-form button")
    page.wait_for_selector("#preview")
    assert page.locator("#preview tbody tr").count() == 10
    assert page.locator("#columns tbody tr").count() == 13
    assert "numeric" in page.locator("#columns tbody tr", has_text="quality").inner_text()
    assert "categorical" in page.locator("#columns tbody tr", has_text="type").inner_text()
    reveal(page)
    distributions = plotted(page, "#distributions")
    assert len(distributions) == 13 and all(d["points"] >= 2 for d in distributions)
    assert page.locator("#id_target").input_value() == "quality"
    page.wait_for_function("document.getElementById('task-inferred').textContent.includes('predict a number')")
    # The pre-flight estimate for the one-minute preset, before Start.
    page.wait_for_function("document.getElementById('estimate-text').textContent.includes('scored by 5-fold CV')")
    assert "Expected: about" in page.locator("#estimate-text").inner_text()
    assert page.locator("#estimate-warning").is_hidden()
    shot(page, "02-dataset-wine")

    three_models_three_folds(page)
    page.fill("#id_test_split", "20")
    page.click("#experiment-form button[type=submit]")
    page.wait_for_selector("#leaderboard")

    # Rows appear while the run goes on, without a reload.
    page.wait_for_function("document.querySelectorAll('#leaderboard tbody tr').length >= 1 && "
                           "document.getElementById('status').textContent.trim() === 'running'", timeout=RUN_TIMEOUT)
    assert re.search(r"\d+ (of \d+ )?models? done", page.locator("#progress-text").inner_text())
    capture(page, ARTIFACTS / "03-experiment-running.png")

    wait_for_status(page, "succeeded")
    page.wait_for_selector("#leader-card")
    assert "Predicts quality within ±" in page.locator("#leader-score").inner_text()
    rows = page.locator("#leaderboard tbody tr")
    assert rows.count() >= 4  # GLM, DRF, GBM and the ensembles
    assert "leader" in rows.first.get_attribute("class").split()
    wait_for_model_charts(page, 4)
    assert_charts_drawn(plotted(page, "#model-charts"), ["importance", "actual-vs-predicted", "residuals", "shap"])
    assert_charts_drawn(plotted(page, "#compare"), ["accuracy-vs-speed", "importance-heatmap", "model-correlation"])
    assert page.locator("#events li").count() >= 5

    # Partial dependence for a column the run did not precompute, computed on demand.
    options = page.locator("#pdp-feature option").all_inner_texts()
    page.select_option("#pdp-feature", options[-1])
    page.wait_for_function(f"Array.from(document.querySelectorAll('.pdp .js-plotly-plot')).some("
                           f"p => p.layout.title.text.includes({options[-1]!r}))")

    # Sorting by prediction time orders the rows by it.
    page.click("#leaderboard th button:text('ms / row')")
    times = [float(t) for t in page.locator("#leaderboard tbody tr td:nth-last-child(2)").all_inner_texts()]
    assert times == sorted(times)

    # Clicking another model's row shows its charts.
    other = page.locator("#leaderboard tbody tr", has_text="GLM_1")
    other.click(position={"x": 5, "y": 5})
    page.wait_for_function("document.getElementById('model-charts').dataset.modelId === 'GLM_1'")
    wait_for_model_charts(page, 4)
    shot(page, "04-results-wine")
    assert_score_in_view_on_a_phone(page)

    with page.expect_download() as info:
        page.click("#leader-download")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    model = load_model(path)
    test = pd.read_csv(DATA / "wine_quality_test.csv")
    assert model.predict(test)["predict"].between(3, 9).all()

    page.click("#leader-id")
    page.wait_for_selector("#cv-metrics")
    assert "Test rows" in page.locator("#cv-metrics").inner_text()  # 20% of the rows were kept aside
    assert "load_model" in page.locator("#python-snippet").inner_text()
    wait_for_model_charts(page, 4)
    shot(page, "05-model-wine")
    page.click("#model-card-link")
    page.wait_for_selector("#card-limits")
    assert "alcohol" in page.locator("#card-drivers").inner_text()
    shot(page, "05b-model-card")
    page.go_back()
    page.wait_for_selector("#model-predict")

    page.click("#model-predict")
    page.set_input_files("#id_file", str(DATA / "wine_quality_test.csv"))
    page.click("#predict-form button[type=submit]")
    page.wait_for_selector("#predictions-table")
    assert page.locator("#predictions-table tbody tr").count() == 100
    assert "off by ±" in page.locator("#predict-summary").inner_text()
    with page.expect_download() as info:
        page.click("#download-predictions")
    predictions = pd.read_csv(info.value.path())
    assert len(predictions) == len(test) and predictions["predict"].between(3, 9).all()
    shot(page, "06-predict-wine", reopen=False)

    page.goto(f"{base}/")
    assert "on average" in page.locator("#experiments").inner_text()
    shot(page, "07-home")
    receipt_rerun_compare_and_continue(page, base)


def board(pg) -> list[tuple[str, str]]:
    """The leaderboard as the page shows it: each row's model and score."""
    return [tuple(r) for r in pg.evaluate("""() => Array.from(document.querySelectorAll(
        '#leaderboard tbody tr[data-model-id]:not(.failed)')).map(r => [r.dataset.modelId, r.cells[2].textContent])""")]


def receipt_rerun_compare_and_continue(page, base):
    """After a run bounded by a number of models: its receipt, an exact re-run giving the same
    leaderboard, the two compared, then the search continued for a minute with new models on the page
    (stopped once they are seen)."""
    page.click("#experiments tbody tr a")
    first_url = page.url
    wait_for_status(page, "succeeded")
    page.wait_for_selector("#leaderboard tbody tr[data-model-id]")  # drawn by the page's script after it loads
    first = board(page)
    assert len(first) >= 4
    page.click("#receipt summary")
    assert page.locator("#receipt-reproducible").inner_text().startswith("Yes.")
    assert "SHA-256" in page.locator("#receipt").inner_text()
    page.click("#rerun")
    page.wait_for_url(lambda url: url != first_url)
    wait_for_status(page, "succeeded")
    page.wait_for_function("document.querySelectorAll('#leaderboard tbody tr[data-model-id]:not(.failed)').length === "
                           + str(len(first)))
    assert board(page) == first  # the same models with the same scores

    page.goto(f"{base}/")
    for box in page.locator("#experiments input[name=e]").all()[:2]:
        box.check()
    page.click("#compare")
    page.wait_for_selector("#compare-leaderboard")
    assert page.locator("#compare-leaderboard tbody tr").count() == 2 * len(first)
    assert page.locator("#compare-leaders tbody tr").count() == 2
    assert_charts_drawn(plotted(page, "body"), ["leaders-importance"])
    shot(page, "07b-compare")

    page.goto(first_url)
    page.select_option("#continue-minutes", "1")
    page.click("#continue")
    page.wait_for_url(first_url)
    # Note when each new row appears, to measure how long after its model finished it is shown.
    page.evaluate("""() => { window.seenAt = {};
        new MutationObserver(() => document.querySelectorAll('#leaderboard tbody tr[data-model-id]').forEach(r => {
            if (!(r.dataset.modelId in window.seenAt)) window.seenAt[r.dataset.modelId] = Date.now();
        })).observe(document.getElementById('leaderboard'), {childList: true, subtree: true}); }""")
    page.wait_for_function("document.getElementById('progress-text').textContent.includes('new model')",
                           timeout=RUN_TIMEOUT)
    capture(page, ARTIFACTS / "07c-continued-running.png")
    page.wait_for_function("document.querySelectorAll('#leaderboard tbody tr[data-model-id]:not(.failed)').length > "
                           + str(len(first)), timeout=RUN_TIMEOUT)
    state = page.request.get(first_url.replace("/experiments/", "/api/experiments/")).json()
    seen = page.evaluate("window.seenAt")
    finished = {e["message"].split(" ")[0]: e["at"] for e in state["events"] if e["kind"] == "model_finished"}
    lags = [seen[m] / 1000 - pd.Timestamp(finished[m]).timestamp() for m in seen
            if m in finished and m not in dict(first)]  # rows new to the page
    assert lags, "no new model was seen arriving on the page"
    print(f"\nrow shown after its model finished: median {sorted(lags)[len(lags) // 2]:.2f} s, "
          f"slowest {max(lags):.2f} s over {len(lags)} models")
    page.click("#stop-form button")  # new rows have been seen arriving: the rest of the minute adds nothing
    wait_for_status(page, "stopped by you")
    page.wait_for_selector("#leader-card")
    assert len(board(page)) > len(first)  # the new models stay
    shot(page, "07d-continued")


def test_binary_titanic_stopped_early_keeps_its_models_and_explains_them(page, live_server, worker_process):
    base = live_server.url
    sign_up(page, base, "historian")
    upload(page, DATA / "titanic.csv")
    assert "'PassengerId' will not be used" in page.locator("#dataset-warnings").inner_text()
    page.select_option("#id_target", "Survived")
    page.wait_for_function("document.getElementById('task-inferred').textContent.includes('two outcomes')")
    page.wait_for_function("document.getElementById('target-warnings').textContent.includes('PassengerId')")
    page.click("#advanced summary")
    # Ranking measures that do not fit a yes/no target are hidden.
    assert page.locator("#id_sort_metric optgroup[label=Regression]").get_attribute("disabled") is not None
    page.fill("#id_nfolds", "3")
    # The columns to learn from: the ID unticked with its reason, the target greyed; leave the ticket out.
    columns = page.locator("#column-choice")
    assert not columns.locator("input[value=PassengerId]").is_checked()
    assert "row number or ID" in columns.locator("[data-column=PassengerId]").inner_text()
    assert columns.locator("input[value=Survived]").is_disabled()
    assert columns.locator("[data-column=Survived] .target-mark").is_visible()
    page.uncheck("#column-choice input[value=Ticket]")
    page.wait_for_function("document.getElementById('target-warnings').textContent.includes('Left out by you: Ticket')")
    page.check("#column-choice input[value=PassengerId]")  # ticked, the ID is no longer said to be unused
    page.wait_for_function("!document.getElementById('target-warnings').textContent.includes('PassengerId (')")
    page.uncheck("#column-choice input[value=PassengerId]")
    columns.scroll_into_view_if_needed()
    shot(page, "07e-new-experiment-columns")
    page.click("#experiment-form button[type=submit]")  # the quick preset: one minute
    page.wait_for_function("document.getElementById('run-warnings').textContent.includes('Ticket')")
    assert "Ticket (you chose to leave it out)" in page.locator("#run-warnings").inner_text()

    page.wait_for_function("document.querySelectorAll('#leaderboard tbody tr').length >= 2", timeout=RUN_TIMEOUT)
    kept = page.locator("#leaderboard tbody tr").count()
    clicked = time.time()
    page.click("#stop-form button")
    wait_for_status(page, "stopped by you")
    print(f"\n'stopped by you' shown {time.time() - clicked:.1f} s after the click on Stop")
    page.wait_for_selector("#leader-card")
    assert page.locator("#leaderboard tbody tr").count() >= kept
    assert not page.locator("#stop-form").is_visible()
    # A stopped run's explanations are computed when first asked for: the charts, then the words with the labels.
    wait_for_model_charts(page, 5)
    charts = plotted(page, "#model-charts")
    assert_charts_drawn(charts, ["importance", "confusion-matrix", "roc", "pr", "shap"])
    page.reload()
    page.wait_for_selector("#leader-card")
    assert "ranks a random '1' row above a random '0' row" in page.locator("#leader-score").inner_text()
    wait_for_model_charts(page, 5)
    shot(page, "08-results-titanic-stopped")

    page.click("#predict-link")
    frame = pd.read_csv(DATA / "titanic.csv").drop(columns=["Survived"]).head(30)
    path = ARTIFACTS / "titanic-new-passengers.csv"
    frame.to_csv(path, index=False)
    page.set_input_files("#id_file", str(path))
    page.click("#predict-form button[type=submit]")
    page.wait_for_selector("#predictions-table")
    headers = page.locator("#predictions-table thead th").all_inner_texts()
    assert headers == ["row", "predicted Survived", "probability of '0'", "probability of '1'"]
    assert page.locator("#predictions-table tbody tr").count() == 30
    shot(page, "09-predict-titanic", reopen=False)


def pick_each_shap_class(pg, classes):
    """The SHAP chart's class picker lists every class; picking one redraws the chart for it."""
    plot = "document.querySelector('#model-charts [data-chart=shap] .js-plotly-plot')"
    labels = pg.evaluate(f"{plot}.layout.updatemenus[0].buttons.map(b => b.label)")
    assert labels == [f"class '{c}'" for c in classes]
    chart = pg.locator("#model-charts [data-chart=shap] .js-plotly-plot")
    # Scrolled by the page's own call: Playwright's scroll first waits for two equal animation frames,
    # which a loaded machine's Chromium once did not give within 30 s (the clicks below wait as well).
    pg.bring_to_front()
    chart.evaluate("e => e.scrollIntoView({block: 'center'})")
    for label in classes[1:]:
        chart.locator(".updatemenu-header-group").click()
        chart.locator(".updatemenu-dropdown-button", has_text=f"class '{label}'").click()
        pg.wait_for_function(f"{plot}.layout.xaxis.title.text.endsWith(\"'{label}'\")")
    assert chart.locator(".updatemenu-header").text_content() == f"class '{classes[-1]}'"


def test_multiclass_cars_with_advanced_settings_and_a_bad_file(page, live_server, worker_process):
    base = live_server.url
    sign_up(page, base, "car-buyer")
    upload(page, DATA / "car_evaluation.csv")
    page.select_option("#id_target", "class")
    page.wait_for_function("document.getElementById('task-inferred').textContent.includes('category')")
    three_models_three_folds(page)
    page.select_option("#id_sort_metric", "multiclass:logloss")
    for algo in ("GBM", "DeepLearning"):
        page.uncheck(f"input[name=algos][value={algo}]")
    shot(page, "10-new-experiment-cars")
    page.click("#experiment-form button[type=submit]")

    wait_for_status(page, "succeeded")
    page.wait_for_selector("#leader-card")
    assert "Log loss" in page.locator("#sort-metric").inner_text()
    names = " ".join(page.locator("#leaderboard tbody tr").all_inner_texts())
    assert "GLM_1" in names and "GBM" not in names
    wait_for_model_charts(page, 5)
    charts = {c["key"]: c for c in plotted(page, "#model-charts")}
    assert_charts_drawn(list(charts.values()), ["importance", "confusion-matrix", "roc", "pr", "shap"])
    assert charts["roc"]["traces"] == 5  # one curve per class and the guessing line
    labels = page.evaluate("document.querySelector('[data-chart=confusion-matrix] .js-plotly-plot').data[0].x")
    assert sorted(labels) == ["acc", "good", "unacc", "vgood"]
    pick_each_shap_class(page, ["acc", "good", "unacc", "vgood"])
    speed = page.locator("#compare [data-chart=accuracy-vs-speed] .js-plotly-plot")
    ticks = speed.locator(".xtick text").all_text_contents()
    assert ticks and all(t.endswith(" ms") for t in ticks), ticks
    assert "GLM_1" in speed.locator(".textpoint text").all_text_contents()  # each dot says which model it is
    shot(page, "11-results-cars")

    page.click("#predict-link")
    bad = ARTIFACTS / "not-a-table.csv"
    bad.write_bytes(b"\x00\x01\x02 this is not a table \xff\xfe")
    page.set_input_files("#id_file", str(bad))
    page.click("#predict-form button[type=submit]")
    message = page.locator("#predict-form .error").inner_text()
    assert "not a CSV" in message and "Traceback" not in page.content()
    cars = pd.read_csv(DATA / "car_evaluation.csv").head(20)
    cars.loc[:1, "buying"] = "free"
    path = ARTIFACTS / "cars-new.csv"
    cars.to_csv(path, index=False)
    page.set_input_files("#id_file", str(path))
    page.click("#predict-form button[type=submit]")
    page.wait_for_selector("#predictions-table")
    assert "'buying' has values never seen in training: 'free' (2 rows)" in page.locator("#input-notes").inner_text()
    assert len(page.locator("#predictions-table thead th").all_inner_texts()) == 3 + 4  # row, actual, predicted, 4 classes
    shot(page, "12-predict-cars", reopen=False)


def test_html_in_column_names_and_values_is_shown_as_text_never_as_a_link(browser, page, live_server, tmp_path):
    link = '<a href="https://evil.example/c">cat</a>'
    frame = pd.DataFrame({"<b>name</b>": [link, "plain", "<i>x</i>"] * 20, "y": [1.0, 2.0, 3.5] * 20})
    path = tmp_path / "<img src=x>.csv"
    frame.to_csv(path, index=False)
    sign_up(page, live_server.url, "escaper")
    upload(page, path)
    reveal(page)
    plotted(page, "#distributions")
    charts = page.locator("#distributions .js-plotly-plot")
    assert charts.count() >= 2
    assert page.locator("#distributions .js-plotly-plot a").count() == 0  # no live link inside any chart
    assert page.locator("#distributions .js-plotly-plot b, #distributions .js-plotly-plot i").count() == 0
    drawn = " ".join(charts.all_inner_texts()) + " ".join(
        page.locator("#distributions .js-plotly-plot text").all_text_contents())
    assert "<a href" in drawn or "cat</a>" in drawn  # the value, as the characters it has
    shot(page, "09-escaped-labels")

    # The same page in a browser that enforces the Content-Security-Policy: charts drawn, the estimate
    # fetched, and nothing refused or broken (waiting only with selectors: no evaluated strings).
    browser.strict.add_cookies(page.context.cookies())
    strict = browser.strict.new_page()
    errors = []
    strict.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    strict.on("pageerror", lambda e: errors.append(str(e)))
    strict.goto(page.url)
    strict.wait_for_selector("#distributions .js-plotly-plot .main-svg", timeout=30_000)
    strict.wait_for_selector("#estimate:not([hidden])", timeout=30_000)
    assert "Expected: about" in strict.locator("#estimate-text").inner_text()
    assert errors == []


def test_a_new_visitor_sees_the_rules_and_plain_numbers_and_a_wide_table_says_it_scrolls(page, live_server, tmp_path):
    base = live_server.url
    static = {}
    page.on("response", lambda r: static.update({r.url: r}) if "/static/" in r.url else None)
    page.goto(f"{base}/signup/")
    rules = page.locator("#id_password1_helptext")  # before anything is submitted
    assert rules.is_visible() and page.locator(".error").count() == 0
    for rule in ("at least 8 characters", "commonly used password", "entirely numeric"):
        assert rule in rules.inner_text()
    shot(page, "00-signup")
    sign_up(page, base, "newcomer")
    assert not any("plotly" in url for url in static)  # no chart on these pages: no chart library

    rng = np.random.default_rng(0)
    wide = pd.DataFrame({f"measurement_{i:02d}": rng.normal(size=1500).round(3) for i in range(24)})
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    upload(page, path)
    assert "1,500 rows · 24 columns" in page.locator("h1 + p").inner_text()
    hint = page.locator("#preview-hint")
    hint.wait_for(state="visible")
    assert "all 24 columns" in hint.inner_text()
    box = "document.getElementById('preview').parentElement"
    assert page.evaluate(f"{box}.className") == "scroll more-right"  # faded where more columns are
    page.evaluate(f"{box}.scrollLeft = {box}.scrollWidth")
    page.wait_for_function(f"{box}.className === 'scroll more-left'")
    page.evaluate(f"{box}.scrollLeft = 0")
    plotly = [r for url, r in static.items() if "/vendor/plotly/plotly.min." in url]
    assert plotly, "the dataset page draws charts with plotly.js"
    headers = plotly[0].all_headers()
    assert headers["content-encoding"] in ("br", "gzip") and "immutable" in headers["cache-control"]
    shot(page, "02b-dataset-wide")

    narrow = tmp_path / "narrow.csv"
    wide.iloc[:, :4].to_csv(narrow, index=False)
    page.goto(f"{base}/")
    upload(page, narrow)  # four columns fit: no hint, no fade
    page.wait_for_load_state()
    assert page.locator("#preview-hint").is_hidden()
    assert page.evaluate(f"{box}.className") == "scroll"
    page.goto(f"{base}/")
    rows = page.locator("#datasets tbody tr", has_text="wide.csv").locator("td.num").first
    assert rows.inner_text() == "1,500"
