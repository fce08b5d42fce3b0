"""Lessons in the app: the menu and the panel load a lesson's variants into race mode and
show its text; Run trains every variant for the lesson's steps."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from test_app_race import TIMEOUT, close, make_window, small_spec, steps, thetas

from playground.app.panels.lessons import LessonsPanel
from playground.lessons import LESSONS


@pytest.fixture
def window(qtbot):
    w = make_window(qtbot, small_spec())
    yield w
    close(w)


def test_panel_lists_every_lesson_and_shows_its_text(qtbot):
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    assert panel.list.count() == len(LESSONS)
    chosen = []
    panel.lessonChosen.connect(chosen.append)
    item = panel.list.item(1)
    panel.list.itemClicked.emit(item)
    lid = item.data(Qt.ItemDataRole.UserRole)
    assert chosen == [lid]
    text = panel.text.toPlainText()
    lesson = LESSONS[lid]
    assert lesson.title in text and "What to watch" in text and lesson.text[:40] in text
    assert all(v.title in text for v in lesson.variants)
    assert panel.run_button.isEnabled()


def test_menu_lesson_loads_its_variants_into_race_mode(window, qtbot):
    lesson = LESSONS["learning_rate"]
    assert set(window.lesson_actions) == set(LESSONS)
    window.lesson_actions["learning_rate"].trigger()
    race = window.race
    assert window.racing and race.lesson_id == "learning_rate"
    assert [m.label for m in race.members] == [v.title for v in lesson.variants]
    assert [m.spec for m in race.members] == [v.spec for v in lesson.variants]
    assert window.lessons_dock.isVisible()
    assert lesson.title in window.lessons_panel.text.toPlainText()
    t = thetas(race)
    assert all(np.array_equal(t[0], x) for x in t[1:])  # "the same weights" of the lesson text
    # Run: every variant trains for the lesson's steps, then the race stops by itself
    window.lessons_panel.run_button.click()
    qtbot.waitUntil(lambda: steps(race) == [v.steps for v in lesson.variants], timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not race.running, timeout=TIMEOUT)
    assert window.race_view.play_button.text() == "Play"


def test_choosing_another_lesson_in_the_panel_replaces_the_race(window, qtbot):
    window.load_lesson("learning_rate")
    panel = window.lessons_panel
    for i in range(panel.list.count()):
        if panel.list.item(i).data(Qt.ItemDataRole.UserRole) == "batch_size":
            panel.list.itemClicked.emit(panel.list.item(i))
    assert window.race.lesson_id == "batch_size"
    assert len(window.race.members) == len(LESSONS["batch_size"].variants)
    assert LESSONS["batch_size"].title in panel.text.toPlainText()
    window.exit_race()
    assert not window.racing and window.toolbar.isEnabled()
