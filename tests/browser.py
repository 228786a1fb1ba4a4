"""Open an HTML file in headless Debian Chromium via Playwright and report what a person would see.

Used by the report tests. Returns None (with a reason) when Chromium or Playwright is unavailable,
so the tests can skip with that reason.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def unavailable() -> Optional[str]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return "Debian chromium is not installed (scripts/test-setup.sh installs it with apt-get)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


# what a reader sees first: the table of contents, where each study section's first figure starts
# (px below the section's top), and how many <details> are open on load
LAYOUT_JS = """() => ({
  toc: !!document.querySelector('nav.toc'),
  answersLink: !!document.querySelector('a[href="answers.html"]'),
  detailsOpen: Array.from(document.querySelectorAll('details')).filter(d => d.open).length,
  details: document.querySelectorAll('details').length,
  height: document.body.scrollHeight,
  studies: Array.from(document.querySelectorAll('section.study')).map(s => {
    const f = s.querySelector('figure');
    return [s.id, f ? f.getBoundingClientRect().top - s.getBoundingClientRect().top : null];
  }),
})"""


def inspect(html_path: Path, screenshot: Path, viewport: tuple[int, int] = (1280, 800)) -> dict[str, Any]:
    """Load ``html_path`` from file:// at ``viewport`` and collect images, console errors, requests,
    section ids and the layout (``LAYOUT_JS``)."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html_path.resolve().as_uri(), wait_until="load")
        images = page.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.complete, e.naturalWidth])")
        sections = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
        text = page.inner_text("body")
        layout = page.evaluate(LAYOUT_JS)
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    network = [u for u in requests if not u.startswith(("file:", "data:"))]
    return {"images": images, "errors": errors, "network": network, "sections": sections, "text": text,
            "layout": layout}
