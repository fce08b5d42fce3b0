"""The data panel: toy data sets as thumbnails, noise / size / split / seed, input features, CSV import.

Every change goes through ``controller.edit_spec`` (data edits rebuild the experiment and
reset the weights). When the new data needs another kind of output (regression vs.
classes, 2 vs. more classes) the loss and output activation are adapted in the same edit
(``playground.spec.adapt_training``), so one undo restores both.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from playground.app import colors
from playground.data.images import IMAGE_DATASETS
from playground.data.toy import FEATURE_TRANSFORMS, TOY_DATASETS, apply_transforms
from playground.shapes import IMAGE_KINDS, RECURRENT_KINDS
from playground.spec import (
    DEFAULT_TRAIN_FRACTION,
    TOY_FEATURES,
    DataSpec,
    LayerSpec,
    adapt_training,
    default_spec,
)

THUMB = 54  # thumbnail picture size in pixels
THUMB_COLUMNS = 4
FEATURE_LABELS = {
    "x1": "x\u2081",
    "x2": "x\u2082",
    "x1^2": "x\u2081\u00b2",
    "x2^2": "x\u2082\u00b2",
    "x1*x2": "x\u2081x\u2082",
    "sin(x1)": "sin x\u2081",
    "sin(x2)": "sin x\u2082",
}
SEED_AUTO = -1  # spin value shown as "auto": the data follow the experiment seed
IMAGE_TRAIN_FRACTION = 0.75  # image data starts with a 25 % test set (W4 of BENCHMARKS.md)
IMAGE_SAMPLES = 1000  # generated toy images (bars, shapes)
IMAGE_NOISE = 0.1
SEQUENCE_SAMPLES = 1000  # generated sequences
# what each sequence set starts as from the data panel: sines is W5; copy a lag an RNN loses
SEQUENCE_PRESETS = {"sines": {"length": 20}, "copy": {"length": 22, "lag": 20}, "parity": {"length": 12}}


# ----------------------------------------------------------------------------- pictures


def toy_thumbnail(name: str, size: int = THUMB, n_points: int = 260, seed: int = 7) -> QPixmap:
    """A small scatter picture of one toy generator (transparent background)."""
    gen = TOY_DATASETS[name]
    rng = np.random.default_rng(seed)
    X, y = gen.generate(n_points, gen.default_noise, rng, 3)
    if gen.input_dim == 1:  # 1-D regression: plot x against the target
        X = np.column_stack([X[:, 0], y[:, 0]])
        fill = np.tile(np.array([[*QColor(colors.BLUE).getRgb()[:3], 255]], np.uint8), (len(X), 1))
    elif gen.task == "classification":
        fill = colors.class_colors_rgba(y)
    else:
        fill = colors.values_to_rgba(y[:, 0] / max(1e-12, float(np.abs(y).max())))
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = float(max(hi[0] - lo[0], hi[1] - lo[1])) or 1.0
    centre = (lo + hi) / 2
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    pad, r = 4.0, 1.6
    scale = (size - 2 * pad) / span
    for (px, py), c in zip(X, fill):
        p.setBrush(QColor(int(c[0]), int(c[1]), int(c[2]), 230))
        cx = size / 2 + (px - centre[0]) * scale
        cy = size / 2 - (py - centre[1]) * scale
        p.drawEllipse(QPointF(cx, cy), r, r)
    p.end()
    return pm


def sequence_thumbnail(name: str, size: int = THUMB) -> QPixmap:
    """A sparkline of one sample of the sequence data set ``name`` (its features over time)."""
    from PySide6.QtGui import QPen, QPolygonF

    from playground.data.build import build_dataset
    from playground.spec import DataSpec

    pm = QPixmap(size - 6, size - 6)
    pm.fill(Qt.GlobalColor.transparent)
    try:
        preset = {"text": {"length": 16}}.get(name, SEQUENCE_PRESETS.get(name, {}))
        ds = build_dataset(DataSpec(kind="sequence", name=name, n_samples=8, **preset), 3)
        x = np.asarray(ds.X_train[0], dtype=np.float64)
    except Exception:  # a data set that cannot build a thumbnail still gets its button
        return pm
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    w, h = pm.width(), pm.height()
    T, F = x.shape
    for j in range(min(F, 4)):
        v = x[:, j]
        lo, hi = float(v.min()), float(v.max())
        span = hi - lo or 1.0
        pts = [
            QPointF(2 + (w - 4) * t / max(1, T - 1), h - 3 - (h - 6) * (v[t] - lo) / span) for t in range(T)
        ]
        p.setPen(QPen(QColor(colors.CLASS_COLORS[j % len(colors.CLASS_COLORS)]), 1.6))
        p.drawPolyline(QPolygonF(pts))
    p.end()
    return pm


def image_thumbnail(name: str, size: int = THUMB) -> QPixmap:
    """A 2x2 mosaic of four images of the image data set ``name`` (gray on transparent)."""
    source = IMAGE_DATASETS[name]
    X, _y = source.load(8, 0.0, np.random.default_rng(3), source.size())
    tiles = [np.asarray(X[i, 0], dtype=np.float64) for i in (0, 1, 2, 5)]
    h, w = tiles[0].shape
    pad = 1
    mosaic = np.zeros((2 * h + pad, 2 * w + pad))
    for k, t in enumerate(tiles):
        r, c = divmod(k, 2)
        mosaic[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = t
    v = (np.clip(mosaic, 0, 1) * 255).astype(np.uint8)
    rgba = np.empty(v.shape + (4,), np.uint8)
    rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = 255 - v
    rgba[..., 3] = 255
    from PySide6.QtGui import QImage

    img = QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.shape[1] * 4, QImage.Format.Format_RGBA8888)
    return QPixmap.fromImage(img.copy()).scaled(
        size - 6, size - 6, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


def network_for_data(spec, images: bool, sequences: bool = False):
    """``spec.network`` made buildable on the new data: data other than images drops the
    convolution, pooling and flatten layers, data other than sequences the recurrent ones
    (the dense ones stay; none left: the default network)."""
    hidden = spec.network.hidden
    drop = set() if images else {*IMAGE_KINDS, "flatten"}
    if not sequences:
        drop |= set(RECURRENT_KINDS)
    if not any(layer.kind in drop for layer in hidden):
        return spec.network
    kept = tuple(layer for layer in hidden if layer.kind not in drop)
    if sequences:  # a recurrent stack must give the next recurrent layer every step
        kept = tuple(
            replace(layer, return_sequences=True)
            if layer.kind in RECURRENT_KINDS and any(n.kind in RECURRENT_KINDS for n in kept[i + 1 :])
            else layer
            for i, layer in enumerate(kept)
        )
    return replace(spec.network, hidden=kept or default_spec().network.hidden)


def feature_icon(name: str, size: int = 18) -> QIcon:
    """The transform over [-6, 6]^2 as a tiny heatmap, as TF Playground shows its inputs."""
    t = np.linspace(-6, 6, size)
    gx, gy = np.meshgrid(t, t)
    v = apply_transforms([name], np.column_stack([gx.ravel(), gy.ravel()]))[:, 0].reshape(size, size)
    v = v / max(1e-12, float(np.abs(v).max()))
    return QIcon(QPixmap.fromImage(colors.heatmap_image(v)))


# ----------------------------------------------------------------------------- spec helpers


def toy_task(data: DataSpec) -> tuple[str, int]:
    gen = TOY_DATASETS[data.name]
    return gen.task, gen.n_classes(data.n_classes)


# ----------------------------------------------------------------------------- widgets


class _Caption(QLabel):
    def __init__(self, text: str):
        super().__init__(text.upper())
        self.setObjectName("dim")
        f = self.font()
        f.setPointSizeF(f.pointSizeF() * 0.85)
        f.setBold(True)
        f.setLetterSpacing(f.SpacingType.PercentageSpacing, 106)
        self.setFont(f)


class DataPanel(QWidget):
    """Pick and shape the data: toy sets, noise, size, split, seed, features; CSV import."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(6)

        lay.addWidget(_Caption("Data set"))
        lay.addWidget(self._build_thumbnails())
        lay.addWidget(_Caption("Images"))
        lay.addWidget(self._build_image_buttons())
        lay.addWidget(_Caption("Sequences"))
        lay.addWidget(self._build_sequence_buttons())
        csv_row = QHBoxLayout()
        self.import_button = QPushButton("Import CSV\u2026")
        self.import_button.setToolTip("Load a table from a CSV file: choose the target and input columns")
        self.import_button.clicked.connect(lambda: self.open_csv_dialog())
        csv_row.addWidget(self.import_button)
        csv_row.addStretch(1)
        lay.addLayout(csv_row)
        lay.addWidget(self._build_csv_box())

        lay.addSpacing(4)
        lay.addLayout(self._build_sliders())
        lay.addSpacing(4)
        self.features_caption = _Caption("Input features")
        lay.addWidget(self.features_caption)
        self.features_box = self._build_features()
        lay.addWidget(self.features_box)
        lay.addStretch(1)

        controller.specChanged.connect(self.refresh)
        controller.experimentReplaced.connect(self.refresh)
        self._pictures_key = colors.neutral()
        self.refresh()

    # -- construction ----------------------------------------------------------------------
    def _build_thumbnails(self) -> QWidget:
        box = QWidget()
        box.setObjectName("thumbnails")
        box.setStyleSheet(
            "#thumbnails QToolButton { border: 1px solid transparent; border-radius: 6px; padding: 3px; }"
            "#thumbnails QToolButton:hover { border: 1px solid palette(mid); }"
            "#thumbnails QToolButton:checked { border: 2px solid palette(highlight);"
            " background: palette(base); }"
        )
        self._thumbnails_box = box
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        self.thumb_group = QButtonGroup(self)
        self.thumb_group.setExclusive(True)
        self.thumb_buttons: dict[str, QToolButton] = {}
        for k, name in enumerate(TOY_DATASETS.names()):
            gen = TOY_DATASETS[name]
            b = QToolButton()
            b.setCheckable(True)
            b.setIcon(QIcon(toy_thumbnail(name)))
            b.setIconSize(QSize(THUMB, THUMB))
            b.setText(name.replace("_", " "))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            f = b.font()
            f.setPointSizeF(f.pointSizeF() * 0.85)
            b.setFont(f)
            kind = "classification" if gen.task == "classification" else "regression"
            b.setToolTip(f"<b>{name}</b> ({kind}, {gen.input_dim}-D)<br>{gen.description}")
            b.clicked.connect(lambda _=False, n=name: self.select_toy(n))
            self.thumb_group.addButton(b)
            self.thumb_buttons[name] = b
            grid.addWidget(b, k // THUMB_COLUMNS, k % THUMB_COLUMNS)
        return box

    def _thumb_box(self) -> tuple[QWidget, QGridLayout]:
        """A box of thumbnail buttons styled as the toy sets'."""
        box = QWidget()
        box.setObjectName("thumbnails")
        box.setStyleSheet(self._thumbnails_box.styleSheet())
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(2)
        return box, grid

    def _thumb_button(self, name: str, pixmap: QPixmap, tip: str, slot) -> QToolButton:
        """A checkable data-set button (icon above its name) in the panel's one button group."""
        b = QToolButton()
        b.setCheckable(True)
        b.setIcon(QIcon(pixmap))
        b.setIconSize(QSize(THUMB, THUMB))
        b.setText(name)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        f = b.font()
        f.setPointSizeF(f.pointSizeF() * 0.85)
        b.setFont(f)
        b.setToolTip(tip)
        b.clicked.connect(lambda _=False, n=name: slot(n))
        self.thumb_group.addButton(b)
        return b

    def _build_image_buttons(self) -> QWidget:
        box, grid = self._thumb_box()
        self.image_buttons: dict[str, QToolButton] = {}
        for k, name in enumerate(IMAGE_DATASETS.names()):
            source = IMAGE_DATASETS[name]
            h, w = source.default_size
            tip = f"<b>{name}</b> (images {h}x{w}, {len(source.class_names)} classes)<br>{source.description}"
            b = self._thumb_button(name, image_thumbnail(name), tip, self.select_images)
            self.image_buttons[name] = b
            grid.addWidget(b, 0, k)
        self.folder_button = QToolButton()
        self.folder_button.setCheckable(True)
        self.folder_button.setText("Folder\u2026")
        self.folder_button.setToolTip("A folder of images with one sub-folder per class")
        self.folder_button.setMinimumHeight(THUMB + 20)
        self.folder_button.clicked.connect(lambda: self.open_image_folder())
        self.thumb_group.addButton(self.folder_button)
        grid.addWidget(self.folder_button, 0, len(self.image_buttons))
        return box

    def _build_sequence_buttons(self) -> QWidget:
        from playground.data.sequences import SEQUENCE_DATASETS

        box, grid = self._thumb_box()
        self.sequence_buttons: dict[str, QToolButton] = {}
        for k, name in enumerate(SEQUENCE_DATASETS.names()):
            tip = f"<b>{name}</b> (sequences)<br>{SEQUENCE_DATASETS[name].description}"
            b = self._thumb_button(name, sequence_thumbnail(name), tip, self.select_sequences)
            self.sequence_buttons[name] = b
            grid.addWidget(b, k // THUMB_COLUMNS, k % THUMB_COLUMNS)
        return box

    def select_sequences(self, name: str) -> None:
        """Switch to the named sequence data set (sine, sines, adding, copy, parity, text),
        with an LSTM when the network has no recurrent layer yet."""
        from playground.data.sequences import SEQUENCE_DATASETS

        data = self.controller.spec.data
        new = DataSpec(
            kind="sequence",
            name=name,
            n_samples=SEQUENCE_SAMPLES,
            train_fraction=data.train_fraction if data.kind == "sequence" else DEFAULT_TRAIN_FRACTION,
            **SEQUENCE_PRESETS.get(name, {}),
        )
        source = SEQUENCE_DATASETS[name]
        # the loss and output follow the task: 2 classes sigmoid + bce, more softmax + cce
        n_classes = {"parity": 2, "copy": new.n_classes}.get(name, 3)
        task = (source.task, n_classes if source.task == "classification" else 1)
        spec = self.controller.spec
        if not any(layer.kind in RECURRENT_KINDS for layer in spec.network.hidden):
            lstm = LayerSpec(kind="lstm", units=32, forget_bias=1.0)
            spec = replace(spec, network=replace(spec.network, hidden=(lstm,)))
        self._edit_data(new, f"Data set {name} (sequences)", task, spec=spec)
        self.refresh()

    def _build_csv_box(self) -> QFrame:
        box = QFrame()
        box.setObjectName("csvBox")
        box.setStyleSheet(
            "#csvBox { border: 2px solid palette(highlight); border-radius: 6px; background: palette(base); }"
        )
        lay = QGridLayout(box)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setHorizontalSpacing(8)
        lay.setVerticalSpacing(2)
        self.csv_name = QLabel()
        f = self.csv_name.font()
        f.setBold(True)
        self.csv_name.setFont(f)
        self.csv_details = QLabel()
        self.csv_details.setObjectName("dim")
        self.csv_details.setWordWrap(True)
        self.csv_change = QPushButton("Change\u2026")
        self.csv_change.setToolTip("Choose other columns, task or options for this file, or another file")
        self.csv_change.clicked.connect(self._change_csv)
        lay.addWidget(self.csv_name, 0, 0)
        lay.addWidget(self.csv_change, 0, 1, 2, 1, Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.csv_details, 1, 0)
        lay.setColumnStretch(0, 1)
        self.csv_box = box
        return box

    def _build_sliders(self) -> QGridLayout:
        g = QGridLayout()
        g.setHorizontalSpacing(8)
        g.setVerticalSpacing(6)

        self.ratio_slider = _slider(10, 90, 5, "Share of the points used for training; the rest is test data")
        self.ratio_label = QLabel()
        self.ratio_slider.sliderMoved.connect(lambda v: self.ratio_label.setText(f"{v}% train"))
        self.ratio_slider.valueChanged.connect(self._ratio_changed)
        self.noise_slider = _slider(0, 100, 5, "Noise added to the points (0 = clean)")
        self.noise_label = QLabel()
        self.noise_slider.sliderMoved.connect(lambda v: self.noise_label.setText(f"{v / 100:.2f}"))
        self.noise_slider.valueChanged.connect(self._noise_changed)
        for lab in (self.ratio_label, self.noise_label):
            lab.setMinimumWidth(72)
        g.addWidget(QLabel("Split"), 0, 0)
        g.addWidget(self.ratio_slider, 0, 1)
        g.addWidget(self.ratio_label, 0, 2)
        g.addWidget(QLabel("Noise"), 1, 0)
        g.addWidget(self.noise_slider, 1, 1)
        g.addWidget(self.noise_label, 1, 2)

        self.points_spin = QSpinBox()
        self.points_spin.setRange(4, 10_000_000)
        self.points_spin.setSingleStep(100)
        self.points_spin.setGroupSeparatorShown(True)
        self.points_spin.setKeyboardTracking(False)
        self.points_spin.setToolTip("Number of points generated (train + test)")
        self.points_spin.valueChanged.connect(self._points_changed)
        g.addWidget(QLabel("Points"), 2, 0)
        g.addWidget(self.points_spin, 2, 1, 1, 2)

        self.classes_label = QLabel("Classes")
        self.classes_spin = QSpinBox()
        self.classes_spin.setRange(2, 50)
        self.classes_spin.setKeyboardTracking(False)
        self.classes_spin.setToolTip("Number of blobs (classes)")
        self.classes_spin.valueChanged.connect(self._classes_changed)
        g.addWidget(self.classes_label, 3, 0)
        g.addWidget(self.classes_spin, 3, 1, 1, 2)

        seed_row = QHBoxLayout()
        seed_row.setSpacing(6)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(SEED_AUTO, 2**31 - 1)
        self.seed_spin.setSpecialValueText("auto")
        self.seed_spin.setKeyboardTracking(False)
        self.seed_spin.setToolTip(
            "Seed of the data generator and of the train/test split (auto: the experiment seed)"
        )
        self.seed_spin.valueChanged.connect(self._seed_changed)
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("New random points (a new data seed)")
        self.regenerate_button.clicked.connect(self.regenerate)
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.regenerate_button)
        g.addWidget(QLabel("Seed"), 4, 0)
        g.addLayout(seed_row, 4, 1, 1, 2)
        g.setColumnStretch(1, 1)
        return g

    def _build_features(self) -> QWidget:
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(3)
        self.feature_checks: dict[str, QCheckBox] = {}
        for k, name in enumerate(TOY_FEATURES):
            cb = QCheckBox(FEATURE_LABELS.get(name, name))
            cb.setIcon(feature_icon(name))
            cb.setToolTip(f"Feed {name} to the network")
            cb.toggled.connect(lambda on, n=name: self.set_feature(n, on))
            self.feature_checks[name] = cb
            grid.addWidget(cb, k // 2, k % 2)
        return box

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.repaint_pictures()  # a theme switch: zero's colour in the pictures changes
        super().changeEvent(event)

    def repaint_pictures(self) -> None:
        """Data thumbnails and feature icons drawn again in the current theme's colours."""
        key = colors.neutral()
        if getattr(self, "_pictures_key", None) == key:
            return
        self._pictures_key = key
        for name, b in self.thumb_buttons.items():
            b.setIcon(QIcon(toy_thumbnail(name)))
        for name, cb in self.feature_checks.items():
            cb.setIcon(feature_icon(name))

    # -- state -> widgets ----------------------------------------------------------------------
    def _inputs(self) -> tuple:
        """The controls whose signals edit the spec (silenced while they show it)."""
        return (
            self.noise_slider,
            self.ratio_slider,
            self.points_spin,
            self.classes_spin,
            self.seed_spin,
            *self.feature_checks.values(),
        )

    def refresh(self, *_args) -> None:
        data = self.controller.spec.data
        toy = data.kind == "toy"
        for w in self._inputs():
            w.blockSignals(True)
        try:
            self.thumb_group.setExclusive(toy)
            for name, b in self.thumb_buttons.items():
                b.setChecked(toy and name == data.name)
            image = data.kind == "image"
            sequence = data.kind == "sequence"
            self.thumb_group.setExclusive(toy or image or sequence)
            for name, b in self.sequence_buttons.items():
                b.setChecked(sequence and name == data.name)
            for name, b in self.image_buttons.items():
                b.setChecked(image and not data.path and name == data.name)
            self.folder_button.setChecked(image and bool(data.path))
            self.folder_button.setToolTip(
                f"Images from {data.path}"
                if image and data.path
                else "A folder of images with one sub-folder per class"
            )
            if not (toy or image or sequence):
                buttons = (
                    *self.thumb_buttons.values(),
                    *self.image_buttons.values(),
                    *self.sequence_buttons.values(),
                )
                for b in (*buttons, self.folder_button):
                    b.setChecked(False)
            self.thumb_group.setExclusive(True)
            pct = int(round(data.train_fraction * 100))
            self.ratio_slider.setValue(pct)
            self.ratio_label.setText(f"{pct}% train")
            self.noise_slider.setValue(int(round(data.noise * 100)))
            self.noise_label.setText(f"{data.noise:.2f}")
            self.points_spin.setValue(data.n_samples)
            self.classes_spin.setValue(data.n_classes)
            self.seed_spin.setValue(SEED_AUTO if data.seed is None else min(int(data.seed), 2**31 - 1))
            gen = TOY_DATASETS[data.name] if toy and data.name in TOY_DATASETS else None
            blobs = gen is not None and gen.task == "classification" and gen.fixed_classes is None
            self.classes_spin.setVisible(blobs)
            self.classes_label.setVisible(blobs)
            generated = image and not data.path and name_is_generated(data.name)
            for w in (self.noise_slider, self.points_spin, self.noise_label):
                w.setEnabled(toy or generated)
            dim = gen.input_dim if gen is not None else 0
            self.features_box.setVisible(toy)
            self.features_caption.setVisible(toy)
            on = set(self.current_features())
            for name, cb in self.feature_checks.items():
                cb.setEnabled(FEATURE_TRANSFORMS[name].needs <= dim)
                cb.setChecked(name in on)
        finally:
            for w in self._inputs():
                w.blockSignals(False)
        self._refresh_csv(data)

    def _refresh_csv(self, data: DataSpec) -> None:
        csv = data.kind == "csv"
        self.csv_box.setVisible(csv)
        self.import_button.setText("Import another CSV\u2026" if csv else "Import CSV\u2026")
        if not csv:
            return
        self.csv_name.setText(Path(data.path or "").name)
        self.csv_name.setToolTip(str(data.path))
        exp = getattr(self.controller, "experiment", None)
        parts = []
        if exp is not None and exp.spec.data == data:
            ds = exp.dataset
            parts.append(f"{ds.info.get('n_used', ds.n_train + ds.n_test):,} rows")
            dropped = ds.info.get("rows_dropped", 0)
            if dropped:
                parts.append(f"{dropped:,} dropped")
            task = f"classification ({ds.n_classes} classes)" if ds.task == "classification" else "regression"
            parts += [f"target {data.target}", task, f"{ds.n_inputs} inputs"]
        else:
            parts += [f"target {data.target}", data.task or "task auto"]
        self.csv_details.setText(" \u00b7 ".join(parts))

    def current_features(self) -> tuple[str, ...]:
        data = self.controller.spec.data
        if data.kind != "toy":
            return ()
        if data.features:
            return tuple(data.features)
        dim = TOY_DATASETS[data.name].input_dim
        return ("x1",) if dim == 1 else ("x1", "x2")

    # -- edits -------------------------------------------------------------------------------
    def _edit_data(self, data: DataSpec, text: str, task: tuple[str, int] | None = None, spec=None) -> bool:
        spec = spec or self.controller.spec
        if data == spec.data and spec == self.controller.spec:
            return True
        images = data.kind == "image" or bool(data.image_shape)
        sequences = data.kind == "sequence" or (data.kind == "csv" and data.window is not None)
        new = replace(spec, data=data, network=network_for_data(spec, images, sequences))
        if task is not None:
            new = adapt_training(new, *task)
        return self.controller.edit_spec(new, text) is not False

    def select_images(self, name: str) -> None:
        """Switch to the named image data set (digits, bars, shapes)."""
        data = self.controller.spec.data
        source = IMAGE_DATASETS[name]
        was_image = data.kind == "image" and not data.path
        new = DataSpec(
            kind="image",
            name=name,
            n_samples=data.n_samples if was_image else IMAGE_SAMPLES,
            noise=data.noise if was_image else IMAGE_NOISE,
            train_fraction=data.train_fraction if data.kind == "image" else IMAGE_TRAIN_FRACTION,
            seed=data.seed if data.kind == "image" else None,
        )
        self._edit_data(new, f"Data set {name} (images)", ("classification", len(source.class_names)))
        self.refresh()

    def open_image_folder(self, path: str | None = None) -> None:
        """Use a folder of images (one sub-folder per class); asks for it when ``path`` is None."""
        if path is None:
            from PySide6.QtWidgets import QFileDialog

            path = QFileDialog.getExistingDirectory(self, "Folder of images (one sub-folder per class)")
        if not path:
            self.refresh()
            return
        data = self.controller.spec.data
        fraction = data.train_fraction if data.kind == "image" else IMAGE_TRAIN_FRACTION
        new = DataSpec(kind="image", path=str(path), train_fraction=fraction)
        text = f"Images from {Path(path).name}"
        n_classes = sum(1 for p in Path(path).iterdir() if p.is_dir()) if Path(path).is_dir() else 0
        task = ("classification", max(2, n_classes))
        if not self._edit_data(new, text, task):  # images of several sizes: resize them all
            self._edit_data(replace(new, size=(32, 32)), text + " (resized to 32x32)", task)
        self.refresh()

    def select_toy(self, name: str) -> None:
        """Switch to the toy data set ``name`` (keeping noise, split and, where they fit, features)."""
        data = self.controller.spec.data
        gen = TOY_DATASETS[name]
        feats = tuple(f for f in self.current_features() if FEATURE_TRANSFORMS[f].needs <= gen.input_dim)
        n = data.n_samples if data.kind == "toy" else gen.default_n_samples
        new = DataSpec(
            kind="toy",
            name=name,
            n_samples=n,
            noise=data.noise if data.kind == "toy" else gen.default_noise,
            train_fraction=data.train_fraction,
            n_classes=data.n_classes,
            features=feats if feats not in (("x1",), ("x1", "x2")) else (),
            seed=data.seed if data.kind == "toy" else None,
        )
        self._edit_data(new, f"Data set {name}", toy_task(new))
        self.refresh()  # re-check the right thumbnail even when nothing changed

    def _ratio_changed(self, pct: int) -> None:
        self.ratio_label.setText(f"{pct}% train")
        data = self.controller.spec.data
        self._edit_data(replace(data, train_fraction=pct / 100), f"Train split {pct}%")

    def _noise_changed(self, v: int) -> None:
        self.noise_label.setText(f"{v / 100:.2f}")
        self._edit_data(replace(self.controller.spec.data, noise=v / 100), f"Noise {v / 100:.2f}")

    def _points_changed(self, n: int) -> None:
        self._edit_data(replace(self.controller.spec.data, n_samples=int(n)), f"{n:,} points")

    def _classes_changed(self, k: int) -> None:
        data = replace(self.controller.spec.data, n_classes=int(k))
        self._edit_data(data, f"{k} classes", toy_task(data) if data.kind == "toy" else None)

    def _seed_changed(self, s: int) -> None:
        seed = None if s == SEED_AUTO else int(s)
        self._edit_data(
            replace(self.controller.spec.data, seed=seed), f"Data seed {s if seed is not None else 'auto'}"
        )

    def regenerate(self) -> None:
        """New points: a new random data seed (undoable)."""
        seed = random.randrange(0, 2**31 - 1)
        self._edit_data(replace(self.controller.spec.data, seed=seed), "Regenerate data")

    def set_feature(self, name: str, on: bool) -> None:
        feats = list(self.current_features())
        if on and name not in feats:
            feats.append(name)
        elif not on and name in feats:
            if len(feats) == 1:  # the network needs at least one input
                self.refresh()
                return
            feats.remove(name)
        ordered = tuple(f for f in TOY_FEATURES if f in feats)
        label = ", ".join(FEATURE_LABELS.get(f, f) for f in ordered)
        self._edit_data(replace(self.controller.spec.data, features=ordered), f"Input features {label}")

    # -- CSV ---------------------------------------------------------------------------------
    def open_csv_dialog(self, path: str | None = None) -> None:
        """Show the import dialog (``path``: a file dropped on the window); apply it on OK."""
        from playground.app.dialogs.csv import CsvImportDialog

        data = self.controller.spec.data
        current = data if data.kind == "csv" and path is None else None
        dlg = CsvImportDialog(path, self, data_spec=current)
        if dlg.exec():
            self.import_csv(dlg.data_spec(), dlg.task_summary())
        dlg.deleteLater()

    def _change_csv(self) -> None:
        self.open_csv_dialog()

    def import_csv(self, data: DataSpec, task: tuple[str, int] | None = None) -> None:
        """Use the CSV data described by ``data`` (``task`` = (task, n_classes) when known); a
        time series gets an LSTM when the network has no recurrent layer yet."""
        spec = self.controller.spec
        if data.window is not None:
            task = ("regression", 1)
            if not any(layer.kind in RECURRENT_KINDS for layer in spec.network.hidden):
                lstm = LayerSpec(kind="lstm", units=32, forget_bias=1.0)
                spec = replace(spec, network=replace(spec.network, hidden=(lstm,)))
        self._edit_data(data, f"Import {Path(data.path or '').name}", task, spec=spec)


def name_is_generated(name: str) -> bool:
    """A generated image set (noise and count apply), not the shipped digits."""
    return name in IMAGE_DATASETS and not IMAGE_DATASETS[name].fixed_size


def _slider(lo: int, hi: int, step: int, tip: str) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setPageStep(step * 2)
    s.setTracking(False)  # one edit (and one undo step) per release, not per pixel
    s.setToolTip(tip)
    return s


if __name__ == "__main__":
    from playground.app.preview import run_preview

    run_preview(lambda c: DataPanel(c), size=(300, 620), train=False)
