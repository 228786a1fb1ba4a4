"""Shared test set-up: tests import helpers (browser.py) from this folder; plots never open windows."""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent))
