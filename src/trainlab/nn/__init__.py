"""Layers, inits and activations for single models and populations."""
