"""The lab's studies. Each registers itself in ``trainlab.experiments.registry.STUDIES``."""
