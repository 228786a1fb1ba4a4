"""``trainlab play``: a live browser playground where a whole population trains at once.

``server`` (Starlette + uvicorn, one WebSocket per tab) -> ``session`` (a tab's settings and runs)
-> ``run`` (training in a worker thread, exactly as ``trainlab train``) -> ``diagnosis`` (the rules
of ``checks.py`` on each member's probe evidence). ``state`` holds the page's controls, limits and
the lab presets; ``adapter`` is the only module that imports library internals. The page itself is
``static/`` (plain JavaScript and canvas, nothing loaded from elsewhere).
"""
