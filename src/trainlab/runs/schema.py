"""JSON Schemas for summaries, shipped in ``trainlab/runs/schemas/`` and checked when a study finishes."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from trainlab.stats import json_clean


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    text = resources.files("trainlab.runs").joinpath("schemas", name).read_text(encoding="utf-8")
    return json.loads(text)


def validate_summary(summary: dict[str, Any], schema_name: str) -> None:
    """Raise ``jsonschema.ValidationError`` when ``summary`` (as it is written to JSON) breaks the schema."""
    jsonschema.validate(json_clean(summary), load_schema(schema_name))
