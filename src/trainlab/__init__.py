"""trainlab: a lab bench for training neural networks from scratch."""
__version__ = "0.1.0"
