"""`trainlab play` speed: the page against headless training of the same population, in one run.

Set-up (issue 17): 64 members (64 seeds) of a 2-8-8-2 ReLU net on 200 circle points, 1,000
validation points, full-batch GD at lr 0.1, evaluation every 10 steps, ``--steps`` steps.

- headless: the population trained by ``runner.run_population`` (``fit``) with no callbacks, as
  ``trainlab train`` trains it; timed at 1 and at 2 torch threads, keeping the faster;
- page: a `trainlab play` server in this process and headless Debian Chromium (Playwright) on the
  page; the state arrives through the page's URL, the benchmark presses Play and waits for the
  final numbers. Timed from the click to the final frame on the page, and by the run itself (its
  wall time inside ``fit``). The page counts its own redraws (``window.__frames``).

The sides alternate for ``--rounds`` rounds and each keeps its best (other processes only ever add
time). Prints both times, the ratio (target: the page at least half as fast, ratio >= 0.5) and
the page's redraws per second while training (target >= 10), with the load average.

Usage: python benchmarks/play.py [--steps 3000] [--rounds 2] [--k 64]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import peak
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import browser  # noqa: E402
import playserver  # noqa: E402

from trainlab.play import state as st  # noqa: E402
from trainlab.play.adapter import load_data, resolve_members, train  # noqa: E402


def settings(k: int, steps: int) -> dict:
    return {"dataset": "circles", "points": 200, "val_points": 1000, "hidden": [8, 8], "activation": "relu",
            "init": "kaiming_normal", "optimizer": "sgd", "lr": 0.1, "batch": 0, "steps": steps, "eval_every": 10,
            "seeds": k, "vary": "seeds"}


def headless(state: dict, threads: int) -> float:
    """Seconds to train the population without the page (data drawn before the clock starts)."""
    _, _, cfg = st.validate(state)
    ds, members = load_data(cfg.data, cfg.run.seed), resolve_members(cfg)
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    train(cfg, ds, members, torch.device("cpu"), [])
    return time.perf_counter() - t0


def on_page(page, play, state: dict) -> dict:
    query = "&".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in state.items())
    uid = page.evaluate("window.__play.uid")
    page.goto(f"http://127.0.0.1:{play.port}/?{query}")
    while not page.evaluate(f"window.__play.uid !== null && window.__play.uid !== {uid} && "
                            "window.__play.status === 'paused' && window.__play.boundaries !== null"):
        time.sleep(0.02)
    f0, busy0 = page.evaluate("[window.__frames, window.__busy.draw + window.__busy.messages]")
    t0 = time.perf_counter()
    page.click("#btn-play")
    # waits inside the browser: polling from here would take the server's GIL from its training thread
    page.wait_for_selector('body[data-status="done"]', state="attached", timeout=600_000)
    wall = time.perf_counter() - t0
    frames, busy = page.evaluate("[window.__frames, window.__busy.draw + window.__busy.messages]")
    run = page.evaluate("window.__play.seconds")
    return {"wall": wall, "run": run, "frames": frames - f0, "fps": (frames - f0) / wall,
            "js": (busy - busy0) / 1e3 / wall}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    missing = browser.unavailable() or playserver.unavailable()
    if missing:
        raise SystemExit(f"play benchmark: {missing}")
    from playwright.sync_api import sync_playwright

    state = settings(args.k, args.steps)
    print(peak.machine_line())
    print(f"torch {torch.__version__}; {args.k} members of 2-8-8-2 on 200 points, {args.steps} steps; "
          f"load average at start {os.getloadavg()[0]:.1f}")
    heads, pages = [], []
    with playserver.running_server() as play, sync_playwright() as p:
        b = p.chromium.launch(executable_path=browser.CHROMIUM, args=browser.ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(play.url)
        headless(settings(args.k, 50), 1)  # warm-up
        for r in range(args.rounds):
            h = {t: headless(state, t) for t in (1, 2)}
            torch.set_num_threads(1)  # the page's server trains with 1 thread, as `trainlab play` does
            pg = on_page(page, play, state)
            heads.append(h)
            pages.append(pg)
            print(f"  round {r + 1}: headless {h[1]:.2f} s (1 thread), {h[2]:.2f} s (2 threads); page {pg['wall']:.2f} s "
                  f"(run {pg['run']:.2f} s), {pg['frames']} redraws = {pg['fps']:.1f}/s, page scripts busy {pg['js']:.0%}; "
                  f"load {os.getloadavg()[0]:.1f}")
        b.close()
    best_head = min(min(h.values()) for h in heads)
    threads = min((t for h in heads for t in h), key=lambda t: min(h[t] for h in heads))
    best_page = min(pg["wall"] for pg in pages)
    fps = min(pg["fps"] for pg in pages)
    print(f"headless fit : {best_head:.2f} s ({args.steps / best_head:.0f} steps/s; best at {threads} thread(s))")
    print(f"page         : {best_page:.2f} s ({args.steps / best_page:.0f} steps/s, click to final numbers)")
    print(f"ratio        : {best_head / best_page:.2f}x headless speed (target >= 0.5)")
    print(f"redraws      : {fps:.1f} per second while training, lowest round (target >= 10)")


if __name__ == "__main__":
    main()
