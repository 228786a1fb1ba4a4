"""`trainlab play` in headless Debian Chromium (Playwright): presets, play, live views, try the fix,
URL state and export, and that the exported config trained by `trainlab train` gives the page's
numbers. Every test also checks that the page logged no console error and that no request left
127.0.0.1. Screenshots go to a temporary folder, or to $TRAINLAB_DOCS_SHOTS (`make docs-shots`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import yaml

import browser
import playserver

MISSING = browser.unavailable() or playserver.unavailable()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
ROOT = Path(__file__).resolve().parents[1]
DOCS = os.environ.get("TRAINLAB_DOCS_SHOTS")  # `make docs-shots`: screenshots into the docs, of finished runs


def wait_js(page, expr: str, timeout: float = 60.0):
    """Poll a JavaScript expression until truthy (the page's CSP forbids wait_for_function's eval)."""
    t_end = time.monotonic() + timeout
    while True:
        value = page.evaluate(expr)
        if value:
            return value
        if time.monotonic() > t_end:
            raise TimeoutError(f"{expr} stayed falsy for {timeout} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(DOCS) if DOCS else tmp_path_factory.mktemp("play-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def env():
    from playwright.sync_api import sync_playwright

    with playserver.running_server() as play, sync_playwright() as p:
        b = p.chromium.launch(executable_path=browser.CHROMIUM, args=browser.ARGS)
        ctx = b.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        log = {"errors": [], "urls": []}
        page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: log["errors"].append(str(e)))
        page.on("request", lambda r: log["urls"].append(r.url))
        page.on("websocket", lambda w: log["urls"].append(w.url))
        page.goto(play.url)
        wait_js(page, "window.__play.info !== null && window.__play.status === 'paused'")
        yield play, page, log
        b.close()


@pytest.fixture(autouse=True)
def clean_page(env):
    """After each test: no console errors, and every request went to this server on 127.0.0.1."""
    play, page, log = env
    yield
    assert log["errors"] == []
    here = {f"http://127.0.0.1:{play.port}", f"ws://127.0.0.1:{play.port}"}
    for url in log["urls"]:
        if url.startswith(("blob:", "data:")):
            continue
        parsed = urlparse(url)
        assert f"{parsed.scheme}://{parsed.netloc}" in here, url


def load_state(page, **state):
    """Set controls through the URL, as a shared link does, and wait for the new run."""
    uid = page.evaluate("window.__play.uid")
    query = "&".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in state.items())
    page.goto(f"{page.url.split('?')[0]}?{query}")
    wait_js(page, f"window.__play.uid !== null && window.__play.uid !== {uid} && window.__play.status === 'paused'")


def choose_preset(page, name: str) -> None:
    uid = page.evaluate("window.__play.uid")
    page.select_option("#preset", name)
    wait_js(page, f"window.__play.uid !== {uid} && window.__play.status === 'paused' && window.__play.boundaries !== null")


@pytest.mark.parametrize("preset", ["sigma", "scaling", "deep", "dropout"])
def test_preset_plays_and_views_update(env, shots, preset):
    play, page, _ = env
    choose_preset(page, preset)
    info = page.evaluate("window.__play.info")
    expected = {"sigma": 12, "scaling": 12, "deep": 6, "dropout": 8}[preset]
    assert info["k"] == expected
    grid0, loss0 = page.evaluate("[document.getElementById('grid').toDataURL(), document.getElementById('loss').toDataURL()]")
    frames0 = page.evaluate("window.__frames")
    page.click("#btn-play")
    wait_js(page, "window.__play.rows.length >= 3 && window.__play.step >= 2 * window.__play.info.eval_every", 120)
    page.click("#btn-pause")
    wait_js(page, "window.__play.status === 'paused'")
    time.sleep(0.3)
    grid1, loss1 = page.evaluate("[document.getElementById('grid').toDataURL(), document.getElementById('loss').toDataURL()]")
    assert grid1 != grid0, "the decision boundaries did not change"
    assert loss1 != loss0, "the loss curves did not change"
    assert page.evaluate("window.__frames") > frames0
    assert page.evaluate("window.__play.scales !== null && window.__play.scales.act_std.length") == expected
    preset_vary = page.evaluate(f"window.__play.hello.presets['{preset}'].state.vary")
    assert parse_qs(urlparse(page.url).query)["vary"] == [preset_vary]
    if DOCS:  # the docs show finished runs
        page.click("#btn-play")
        wait_js(page, "window.__play.final !== null", 300)
        time.sleep(0.5)
    page.screenshot(path=str(shots / f"play-{preset}.png"), clip={"x": 0, "y": 0, "width": 1400, "height": 1000})


def test_sigma10_finding_and_try_the_fix(env, shots):
    play, page, _ = env
    choose_preset(page, "sigma")
    page.click("#btn-play")
    wait_js(page, "window.__play.final !== null", 120)
    # member 9 is sigma 10, seed 1. (Seed 0's He-initialized copy loses ReLU units of the 3-unit layer
    # and ends higher, 0.53 against 0.49: the page shows that side by side too; seeds 1-3 end near 0.01.)
    member = 9
    assert page.evaluate(f"window.__play.info.members[{member}].values['model.init.std']") == 10.0
    li = page.locator(f"#findings li[data-code='loss_at_init'][data-member='{member}']")
    assert "re-initialize" in li.inner_text()
    li.locator("button.try-fix").click()
    run = wait_js(page, "Object.keys(window.__play.fixes)[0]")
    wait_js(page, f"window.__play.fixes['{run}'].final !== null", 120)
    original = page.evaluate(f"window.__play.final.train_loss[{member}]")
    fixed = page.evaluate(f"window.__play.fixes['{run}'].final.train_loss[0]")
    assert fixed < original
    card = page.locator(f"#card-{run}").inner_text()
    assert "kaiming_normal" in card and "fixed" in card
    page.screenshot(path=str(shots / "play-fix.png"), full_page=True)


def test_controls_change_url_and_export(env):
    play, page, _ = env
    load_state(page, dataset="circles", points=80, steps=40, seeds=2, vary="seeds", lr=0.1)
    changes = (("#c-lr", "0.05", "lr", "0.05", ("optim", "lr"), 0.05),
               ("#c-dataset", "moons", "dataset", "moons", ("data", "name"), "moons"),
               ("#c-depth", "3", "hidden", "6,3,3", ("model", "hidden"), [6, 3, 3]))
    for selector, value, key, in_url, (section, name), in_yaml in changes:
        uid = page.evaluate("window.__play.uid")
        if selector == "#c-dataset":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
            page.dispatch_event(selector, "change")
        wait_js(page, f"window.__play.uid !== {uid}")
        assert parse_qs(urlparse(page.url).query)[key] == [in_url]
        page.evaluate("window.__play.exported = null")
        page.click("#btn-export")
        text = wait_js(page, "window.__play.exported")
        assert yaml.safe_load(text)[section][name] == in_yaml, text
        assert page.locator("#export-yaml").inner_text().strip() == text.strip()


def test_bad_value_gets_a_message(env):
    play, page, _ = env
    page.fill("#c-lr", "-1")
    page.dispatch_event("#c-lr", "change")
    wait_js(page, "!document.getElementById('message').hidden")
    assert "optim.lr" in page.locator("#message").inner_text()
    assert "bad" in page.get_attribute("#c-lr", "class")
    log_errors = page.evaluate("window.__play.errors.length")
    assert log_errors >= 1
    page.fill("#c-lr", "0.1")
    page.dispatch_event("#c-lr", "change")
    wait_js(page, "document.getElementById('message').hidden")


def test_exported_yaml_trains_to_the_pages_numbers(env, tmp_path):
    play, page, _ = env
    load_state(page, dataset="spirals", noise=0.05, points=120, val_points=300, hidden=[16, 16], activation="tanh",
               init="xavier_normal", optimizer="adam", lr=0.02, batch=30, dropout=0.1, steps=150, eval_every=15,
               seeds=2, vary="lr", values=[0.01, 0.03])
    page.click("#btn-play")
    final = wait_js(page, "window.__play.final", 120)
    page.click("#btn-export")
    text = wait_js(page, "window.__play.exported")
    cfg = tmp_path / "play.yaml"
    cfg.write_text(text)
    out = tmp_path / "run"
    env_vars = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    # one thread, as the page trains (2 threads gave the same numbers, but on a busy 2-core machine 10x slower)
    res = subprocess.run([sys.executable, "-m", "trainlab", "train", str(cfg), "--out", str(out), "--quiet",
                          "--threads", "1"],
                         capture_output=True, text=True, env=env_vars, timeout=300)
    assert res.returncode == 0, res.stderr
    members = json.loads((out / "members.json").read_text())
    rows = members["members"] if isinstance(members, dict) else members
    assert len(rows) == 4 == len(final["train_loss"])
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        got = np.array([r[f"final_{key}"] for r in rows])
        np.testing.assert_allclose(final[key], got, rtol=0, atol=1e-6, err_msg=key)
    assert yaml.safe_load(text)["train"]["steps"] == 150
