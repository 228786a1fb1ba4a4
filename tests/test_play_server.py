"""`trainlab play`'s server: validation and limits, the Origin and token checks, sessions, and that a
page's run equals `trainlab train` on its exported config. A real server on 127.0.0.1, real WebSockets."""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import playserver

pytestmark = pytest.mark.skipif(playserver.unavailable() is not None, reason=str(playserver.unavailable()))

SMALL = {"dataset": "circles", "points": 60, "val_points": 200, "hidden": [6, 3], "steps": 60, "eval_every": 10,
         "seeds": 2, "vary": "sigma", "values": [0.5, 10.0], "lr": 0.1}


@pytest.fixture(scope="module")
def play():
    with playserver.running_server() as p:
        yield p


@pytest.fixture(scope="module")
def tab(play):
    c = playserver.Client(play)
    yield c
    c.close()


# ---- every input is validated like `trainlab train`, limits on top, and the page gets a message ----
BAD = [
    ({"lr": -1}, "lr", "optim.lr"),
    ({"lr": "abc"}, "lr", "expected a number"),
    ({"sigma": "nan"}, "sigma", "finite"),
    ({"activation": "relux"}, "activation", "did you mean 'relu'"),
    ({"dataset": "mnist"}, "dataset", "valid: circles"),
    ({"init": "lsuv"}, "init", "valid:"),
    ({"noise": -0.1}, "noise", "must be >= 0"),
    ({"dataset": "xor", "noise": -1}, "noise", "data.params.std"),
    ({"dropout": 1.0}, "dropout", "model.dropout.hidden"),
    ({"eval_every": 0}, "eval_every", "train.eval_every"),
    ({"hidden": ["a"]}, "hidden", "whole numbers"),
    ({"hidden": [0]}, "hidden", "model.hidden"),
    ({"bogus": 1}, None, "unknown control 'bogus'"),
    ({"vary": "sigma", "values": []}, "values", "at least one value"),
    ({"vary": "lr", "values": [0.1, -1]}, "values", "optim.lr=-1"),
    ({"batch": 500, "points": 100}, "batch", "larger than the 100 training points"),
    # the playground's limits
    ({"seeds": 65}, "seeds", "more than the playground's 64"),
    ({"seeds": 10, "vary": "sigma", "values": [1, 2, 3, 4, 5, 6, 7]}, "seeds", "70 members"),
    ({"points": 5001}, "points", "5000"),
    ({"val_points": 6000}, "val_points", "5000"),
    ({"steps": 20001}, "steps", "20000"),
    ({"steps": 20000, "eval_every": 5}, "eval_every", "evaluate every 10 steps or more"),
    ({"hidden": [65]}, "hidden", "64 per layer"),
    ({"hidden": [8] * 7}, "hidden", "7 layers"),
    ({"hidden": [100] * 19}, "hidden", "19 layers"),  # near a lab structure is not a lab structure
]


@pytest.mark.parametrize("patch,field,text", BAD, ids=[f"{i}-{next(iter(b[0]))}" for i, b in enumerate(BAD)])
def test_bad_input_rejected_with_message(tab, patch, field, text):
    tab.send(type="state", state=SMALL | patch)
    msg = tab.wait(lambda m: m["type"] in ("ready", "error"))
    assert msg["type"] == "error", msg
    assert text in msg["message"], msg["message"]
    assert msg["field"] == field
    assert "Traceback" not in msg["message"] and "\n" not in msg["message"]


def test_bad_messages_rejected(play):
    c = playserver.Client(play)
    try:
        c.send(type="fix", member=0, code="loss_at_init")
        assert "nothing to fix" in c.wait(lambda m: m["type"] == "error")["message"]
        for raw, text in (("not json", "JSON"), ('{"type": "launch"}', "unknown message 'launch'"),
                          ("[1, 2]", "unknown message 'list'")):
            c.ws.send(raw)
            assert text in c.wait(lambda m: m["type"] == "error")["message"]
        c.start(SMALL, play=False)
        for member, code, text in ((99, "loss_at_init", "member must be"), (0, "nope", "no fix row"),
                                   (0, 3, "code must be")):
            c.send(type="fix", member=member, code=code)
            assert text in c.wait(lambda m: m["type"] == "error")["message"]
    finally:
        c.close()


def test_lab_structures_beyond_the_limits_load(tab):
    # the presets' 20 x 100 and 2-256-256-2 nets pass; a user's 7 x 8 net does not (above)
    for state in (SMALL | {"hidden": [100] * 20, "steps": 2}, SMALL | {"hidden": [256, 256], "steps": 2}):
        ready = tab.start(state, play=False)
        assert ready["info"]["layers"] == len(state["hidden"]) + 1


# ---- refused: foreign Origin, missing or wrong token, foreign Host, the page without its token ------
def _refused(play, **kw) -> int:
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as e:
        playserver.Client(play, **kw)
    return e.value.response.status_code


def test_websocket_refuses_foreign_origin_and_bad_token(play):
    assert _refused(play, origin="http://evil.example") == 403
    assert _refused(play, origin=f"http://127.0.0.1:{play.port + 1}") == 403
    assert _refused(play, token="") == 403
    assert _refused(play, token="x" + play.token) == 403
    ok = playserver.Client(play)
    assert ok.hello["type"] == "hello"
    ok.close()


def test_bound_to_every_address_the_origin_must_be_the_pages_own():
    with playserver.running_server(host="0.0.0.0") as wide:
        assert wide.url.startswith(f"http://127.0.0.1:{wide.port}/?token=")
        ok = playserver.Client(wide, host="localhost")  # any name reaches it: Origin = that name
        assert ok.hello["type"] == "hello"
        ok.close()
        assert _refused(wide, host="localhost", origin=f"http://127.0.0.1:{wide.port}") == 403
        assert _refused(wide, origin="http://evil.example") == 403
        assert _refused(wide, token="") == 403


def _get(play, path: str, host: str | None = None, cookie: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", play.port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{play.port}"}
    if cookie:
        headers["Cookie"] = cookie
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode("utf-8", "replace")
    conn.close()
    return r, body


def test_page_needs_the_launch_token(play):
    r, body = _get(play, "/")
    assert r.status == 403 and play.token not in body
    r, _ = _get(play, "/?token=wrong")
    assert r.status == 403
    r, _ = _get(play, f"/?token={play.token}&lr=0.5")
    assert r.status == 303 and r.getheader("Location") == "/?lr=0.5"
    cookie = r.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    r, body = _get(play, "/?lr=0.5", cookie=cookie.split(";")[0])
    assert r.status == 200 and f'content="{play.token}"' in body
    assert "default-src 'self'" in r.getheader("Content-Security-Policy")
    r, _ = _get(play, "/", host="evil.example")  # DNS rebinding: a foreign Host header
    assert r.status == 400
    r, _ = _get(play, "/static/play.js")
    assert r.status == 200
    r, _ = _get(play, "/static/../server.py")
    assert r.status == 404


def test_at_most_four_tabs(play):
    tabs = [playserver.Client(play) for _ in range(4 - len(play.sessions))]
    try:
        extra = playserver.Client(play)
        assert extra.hello["type"] == "error" and extra.hello.get("fatal") and "at most 4" in extra.hello["message"]
        extra.close()
        tabs.pop().close()
        t_end = time.monotonic() + 10
        while len(play.sessions) >= 4 and time.monotonic() < t_end:
            time.sleep(0.05)
        again = playserver.Client(play)
        assert again.hello["type"] == "hello"
        tabs.append(again)
    finally:
        for t in tabs:
            t.close()


# ---- training: independent tabs, the same numbers as `trainlab train`, step, closing ---------------
def _train_numbers(yaml_text: str) -> dict[str, np.ndarray]:
    from trainlab.config import build_config
    from trainlab.runner import run_config

    res = run_config(build_config(yaml.safe_load(yaml_text)))
    # the per-layer norms (issue 13) are train's diagnostics; the page's final numbers are the metrics
    norms = {"grad_norm", "weight_norm", "bias_norm", "update_ratio"}
    return {k: v[-1] for k, v in res.arrays.items() if k != "steps" and k not in norms}


def test_two_tabs_train_independently_to_the_numbers_of_their_exports(play):
    a, b = playserver.Client(play), playserver.Client(play)
    try:
        ra = a.start(SMALL | {"steps": 80})
        rb = b.start(SMALL | {"vary": "lr", "values": [0.05, 0.3], "sigma": 0.3, "steps": 50, "batch": 20,
                              "dropout": 0.2, "optimizer": "momentum"}, play=False)
        a.send(type="pause")
        b.send(type="play")
        fb = b.final(uid=rb["info"]["uid"])
        a.send(type="play")
        fa = a.final(uid=ra["info"]["uid"])
        for tab, final in ((a, fa), (b, fb)):
            assert final["status"] == "done" and final["stop"]["reason"] == "max_steps"
            tab.send(type="export")
            text = tab.wait(lambda m: m["type"] == "export")["yaml"]
            expected = _train_numbers(text)
            for key, values in expected.items():
                np.testing.assert_allclose(final["final"][key], values, rtol=0, atol=1e-6, err_msg=key)
        assert fa["final"]["train_loss"] != fb["final"]["train_loss"]
    finally:
        a.close()
        b.close()


def test_step_runs_to_the_next_evaluation(play):
    c = playserver.Client(play)
    try:
        ready = c.start(SMALL | {"steps": 100, "eval_every": 25}, play=False)
        c.send(type="step")
        frame = c.wait(lambda m: m["type"] == "frame" and m["uid"] == ready["info"]["uid"] and m["status"] == "paused"
                       and m["step"] == 25)
        steps = [r["step"] for m in c.messages if m["type"] == "frame" for r in m["rows"]]
        assert steps[-1] == 25 and frame["step"] == 25
    finally:
        c.close()


def test_closed_tab_stops_its_training(play):
    before = set(play.sessions)
    c = playserver.Client(play)
    ready = c.start(SMALL | {"steps": 20000, "points": 2000, "seeds": 16})
    c.wait(lambda m: m["type"] == "frame" and m["uid"] == ready["info"]["uid"] and m["step"] > 0)
    session = next(iter(set(play.sessions) - before))
    run = session.main
    assert run.thread.is_alive()
    c.close()
    assert run.wait(20), "training went on after its tab closed"
    assert run.status == "closed" and run.step < 20000


def test_try_the_fix_trains_a_fixed_copy(play):
    c = playserver.Client(play)
    try:
        ready = c.start(SMALL | {"steps": 300, "seeds": 1, "values": [10.0]})
        final = c.final(uid=ready["info"]["uid"])
        finding = next(f for m in c.messages if m["type"] == "frame" for f in m["findings"]
                       if f["code"] == "loss_at_init")
        assert finding["member"] == 0 and finding["fix"]["available"]
        c.send(type="fix", member=0, code="loss_at_init")
        fix = c.wait(lambda m: m["type"] in ("fix", "error"))
        assert fix["type"] == "fix", fix
        assert any(ch.startswith("model.init.scheme: 'normal' -> 'kaiming_normal'") for ch in fix["changes"])
        fixed = c.final(run=fix["run"])
        assert fixed["final"]["train_loss"][0] < final["final"]["train_loss"][0]
        c.send(type="fix", member=0, code="grad_accumulation")  # the no-fix path
        assert "not a config setting" in c.wait(lambda m: m["type"] == "error")["message"]
    finally:
        c.close()


# ---- the command itself: URL, port in use (exit 2), Ctrl-C (exit 130) --------------------------------
def test_cli_prints_url_refuses_a_used_port_and_exits_130(tmp_path: Path):
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    cmd = [sys.executable, "-m", "trainlab", "play", "--port", "0", "--no-browser", "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line and "token=" in line, line + proc.stderr.read()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        used = subprocess.run(cmd[:4] + ["--port", str(port), "--no-browser"], capture_output=True, text=True,
                              env=env, timeout=60)
        assert used.returncode == 2, used.stderr
        assert f"port {port} on 127.0.0.1 is in use" in used.stderr and len(used.stderr.strip().splitlines()) == 1
        assert "Traceback" not in used.stderr
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
