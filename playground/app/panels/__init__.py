"""The main window's panels: network, data, controls (Training), plots, boundary, lessons.

Each panel is built from the ExperimentController, reads from it, edits through
``controller.edit_spec`` and listens to its signals. Panels do not import each other (an
import-linter contract in pyproject.toml); a panel with view settings of its own (check-boxes,
axes) gives them as ``view_state()`` and takes them back with ``apply_view_state(d)``.
"""
