"""Sphinx configuration for the tukeyrupture distribution."""

from importlib.metadata import version as _version

project = "tukeyrupture"
author = "The tukeyrupture developers"
copyright = "2026, The tukeyrupture developers"
release = _version("tukeyrupture")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
intersphinx_mapping = {}
templates_path = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
nitpicky = False
