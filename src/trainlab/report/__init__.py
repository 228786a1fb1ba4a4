"""Figures and HTML built from run folders."""
