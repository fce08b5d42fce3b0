"""A panel's view settings (check-boxes, axes): what the session file and QSettings store.

A panel with view settings of its own gives them as ``view_state() -> dict`` and takes them
back with ``apply_view_state(d)`` (keys it does not know, or that are missing, are left
alone), as each glue viewer's ``State.as_dict()`` / ``update_from_dict()``. Its class
attribute ``REMEMBERED`` names the keys kept between launches too (QSettings ``view/<key>``),
with their defaults. The two helpers here serve panels whose settings are check-boxes.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox


def checked(boxes: dict[str, QCheckBox]) -> dict[str, bool]:
    """The state of named check-boxes."""
    return {key: box.isChecked() for key, box in boxes.items()}


def set_checked(boxes: dict[str, QCheckBox], state: dict) -> None:
    """Check or clear the named check-boxes that ``state`` has a value for."""
    for key, box in boxes.items():
        if key in state:
            box.setChecked(bool(state[key]))
