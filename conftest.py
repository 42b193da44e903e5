"""Loads precision_kit's pytest plugin from this checkout when the package is not installed
(the GPU image runs the suite with PYTHONPATH=. and no `pip install`). Installed, the
plugin's `pytest11` entry point, named like the module, has loaded it already and this line
does nothing (pytest registers a plugin module once)."""

pytest_plugins = ["precision_kit.pytest_plugin"]
