"""Run folders on disk: what a run writes, how it is written, and what it must look like.

- ``io.py``: atomic file and folder writes, the marker of the entries trainlab made, install;
- ``outdir.py``: an output folder claimed before work starts, locked while written;
- ``store.py``: metrics, weights (safetensors), members and summary of a run folder;
- ``schema.py`` and ``schemas/``: the JSON Schemas every ``summary.json`` is validated against.
"""
