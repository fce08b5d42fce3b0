"""Image data: the shipped digits, the toy image generators, image folders (tiny PNGs written
here with Pillow), pixel CSVs, and every error they give."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from playground.data.build import build_dataset
from playground.data.image_folder import read_image_folder
from playground.data.images import IMAGE_DATASETS, check_image_memory, stratified_split
from playground.errors import DataError
from playground.spec import DataSpec, ExperimentSpec, check_memory_for_data


def image_spec(**fields) -> DataSpec:
    return ExperimentSpec.from_dict({"data": {"kind": "image", **fields}, "network": {"hidden": []}}).data


def write_png(path, pixels, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), mode).save(path)
    return path


def make_folder(root, classes=("cat", "dog"), n=3, hw=(4, 6), rgb=False):
    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        for i in range(n):
            shape = (*hw, 3) if rgb else hw
            write_png(root / name / f"{i}.png", rng.integers(0, 256, shape) if k else np.full(shape, 200))
    return root


# --------------------------------------------------------------------------- digits


def test_digits_load_1797_images_of_1x8x8_in_0_1_with_10_classes():
    ds = build_dataset(image_spec(name="digits", train_fraction=0.75), seed=0)
    assert ds.is_image and ds.input_shape == (1, 8, 8) and ds.n_inputs == 64
    assert ds.n_train + ds.n_test == 1797 and ds.n_test == 450  # 25 % held out, as W4
    assert ds.X_train.shape == (ds.n_train, 1, 8, 8) and ds.X_train.dtype == np.float64
    both = np.concatenate([ds.X_train, ds.X_test])
    assert both.min() == 0.0 and both.max() == 1.0
    assert np.allclose(both * 16, np.round(both * 16))  # counts 0..16 divided by 16
    assert ds.class_names == [str(d) for d in range(10)] and ds.n_classes == 10
    assert ds.y_train.dtype == np.int64
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_test]))
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]  # sklearn's counts
    # stratified: each class split 75/25 on its own
    assert np.all(np.abs(np.bincount(ds.y_test) - 0.25 * counts) <= 0.5 + 1e-9)


def test_digits_first_image_is_sklearns_first():
    ds = build_dataset(image_spec(name="digits"), seed=0)
    both = np.concatenate([ds.X_train, ds.X_test])
    first = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]  # sklearn digits.images[0][:2]
    rows = both.reshape(len(both), -1)[:, :16] * 16
    assert any(np.array_equal(r, first) for r in rows)


def test_image_dataset_has_flat_raw_views_and_an_identity_pipeline():
    ds = build_dataset(image_spec(name="bars", n_samples=20), seed=1)
    assert ds.raw_train.shape == (ds.n_train, 64) and np.shares_memory(ds.raw_train, ds.X_train)
    assert np.array_equal(ds.pipeline.apply(ds.X_test), ds.X_test)
    assert len(ds.raw_bounds()) == 64 and len(ds.input_names) == 64
    assert "8x8 images with 1 channel" in ds.summary()


def test_tabular_datasets_are_not_images():
    ds = build_dataset(DataSpec(kind="toy", name="spiral", n_samples=40), seed=0)
    assert not ds.is_image and ds.input_shape == (2,) and ds.n_inputs == 2


# --------------------------------------------------------------------------- generators


@pytest.mark.parametrize("name", ["bars", "shapes"])
def test_generators_are_deterministic_per_seed_and_balanced(name):
    spec = image_spec(name=name, n_samples=60, noise=0.2)
    a, b = build_dataset(spec, seed=5), build_dataset(spec, seed=5)
    c = build_dataset(spec, seed=6)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)
    k = len(IMAGE_DATASETS[name].class_names)
    counts = np.bincount(np.concatenate([a.y_train, a.y_test]), minlength=k)
    assert counts.tolist() == [60 // k] * k
    assert a.X_train.min() >= 0.0 and a.X_train.max() <= 1.0
    h, w = IMAGE_DATASETS[name].default_size
    assert a.input_shape == (1, h, w)


def test_bars_are_horizontal_or_vertical_without_noise():
    ds = build_dataset(image_spec(name="bars", n_samples=40, size=[6, 10]), seed=0)
    assert ds.input_shape == (1, 6, 10)
    for x, y in zip(ds.X_train[:, 0], ds.y_train, strict=True):
        rows_lit = np.count_nonzero(x.any(axis=1))
        cols_lit = np.count_nonzero(x.any(axis=0))
        if y == 0:  # horizontal: at most two rows are lit
            assert rows_lit <= 2 and cols_lit >= 5
        else:
            assert cols_lit <= 2 and rows_lit >= 3


def test_shapes_draw_something_in_every_image():
    ds = build_dataset(image_spec(name="shapes", n_samples=30), seed=0)
    assert ds.class_names == ["square", "cross", "circle"]
    assert (ds.X_train.reshape(ds.n_train, -1).max(axis=1) >= 0.6).all()


def test_noise_changes_pixels_but_not_labels():
    clean = build_dataset(image_spec(name="bars", n_samples=30), seed=3)
    noisy = build_dataset(image_spec(name="bars", n_samples=30, noise=0.5), seed=3)
    assert np.array_equal(clean.y_train, noisy.y_train)
    assert np.count_nonzero(noisy.X_train) > np.count_nonzero(clean.X_train)


def test_stratified_split_keeps_each_class_on_both_sides():
    y = np.array([0] * 10 + [1] * 3 + [2] * 2)
    tr, te = stratified_split(y, 0.9, np.random.default_rng(0))
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(15))
    assert set(y[te]) == {0, 1, 2}  # even a class of two keeps one for testing
    assert np.bincount(y[tr]).tolist() == [9, 2, 1]


# --------------------------------------------------------------------------- folders


def test_folder_loads_classes_in_sorted_order_with_shapes(tmp_path):
    make_folder(tmp_path / "pets", classes=("dog", "cat"), n=4, hw=(4, 6))
    (tmp_path / "pets" / "cat" / "notes.txt").write_text("not an image")
    ds = build_dataset(image_spec(path=str(tmp_path / "pets"), train_fraction=0.5), seed=0)
    assert ds.class_names == ["cat", "dog"]
    assert ds.input_shape == (1, 4, 6) and ds.n_train == 4 and ds.n_test == 4
    assert ds.info["color"] == "gray" and ds.info["skipped_files"] == 1
    assert ds.info["classes"] == {"cat": 4, "dog": 4}
    dog = ds.X_train[ds.y_train == 1]  # make_folder's first class is flat grey 200
    assert np.allclose(dog, 200 / 255)  # 8-bit pixels divided by 255


def test_folder_resize_uses_the_given_height_and_width(tmp_path):
    make_folder(tmp_path / "d", hw=(20, 30))
    ds = build_dataset(image_spec(path=str(tmp_path / "d"), size=[5, 7]), seed=0)
    assert ds.input_shape == (1, 5, 7)
    assert ds.info["resize"] == {"size": [5, 7], "filter": "bilinear"}
    assert np.allclose(ds.X_train[ds.y_train == 0], 200 / 255)  # a flat image stays flat


def test_folder_resize_matches_pillow_bilinear(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (12, 9)).astype(np.uint8)
    write_png(tmp_path / "f" / "a" / "0.png", pixels)
    write_png(tmp_path / "f" / "b" / "0.png", pixels)
    X, y, names, info = read_image_folder(tmp_path / "f", size=(4, 3))
    expect = np.asarray(Image.fromarray(pixels).resize((3, 4), Image.Resampling.BILINEAR)) / 255.0
    assert np.allclose(X[0, 0], expect) and names == ["a", "b"]


def test_folder_colour_auto_gray_and_rgb(tmp_path):
    make_folder(tmp_path / "c", rgb=True)
    auto = build_dataset(image_spec(path=str(tmp_path / "c")), seed=0)
    assert auto.input_shape == (3, 4, 6) and auto.info["color"] == "rgb"
    gray = build_dataset(image_spec(path=str(tmp_path / "c"), color="gray"), seed=0)
    assert gray.input_shape == (1, 4, 6)
    # RGB files whose pixels are all gray count as gray
    for k in ("a", "b"):
        for i in range(2):
            write_png(tmp_path / "g" / k / f"{i}.png", np.full((3, 3, 3), 60 * (i + 1)))
    assert build_dataset(image_spec(path=str(tmp_path / "g")), seed=0).input_shape == (1, 3, 3)
    forced = build_dataset(image_spec(path=str(tmp_path / "g"), color="rgb"), seed=0)
    assert forced.input_shape == (3, 3, 3)


def test_folder_reads_jpeg_and_bmp_and_16_bit_png(tmp_path):
    root = tmp_path / "mixed"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir(parents=True)
    Image.fromarray(np.full((4, 4), 255, np.uint8)).save(root / "a" / "0.JPG", quality=95)
    Image.fromarray(np.full((4, 4), 0, np.uint8)).save(root / "a" / "1.bmp")
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(root / "b" / "0.png")
    Image.fromarray(np.full((4, 4), 0, np.uint16)).save(root / "b" / "1.png")
    X, y, names, _ = read_image_folder(root)
    assert X.shape == (4, 1, 4, 4) and y.tolist() == [0, 0, 1, 1]
    assert X[0].min() > 0.95 and X[1].max() == 0.0 and np.allclose(X[2], 1.0) and X[3].max() == 0.0


def test_experiment_memory_check_reads_the_image_shape(tmp_path):
    make_folder(tmp_path / "m")
    spec = ExperimentSpec.from_dict(
        {"data": {"kind": "image", "path": str(tmp_path / "m")}, "network": {"hidden": [{"kind": "conv2d"}]}}
    )
    ds = build_dataset(spec.data, spec.seed)
    check_memory_for_data(spec, ds)  # 3x3 kernel on 4x6: fine
    big = spec.with_changes("network.hidden.0.kernel_size", 5)
    with pytest.raises(Exception) as e:
        check_memory_for_data(big, ds)
    assert getattr(e.value, "path", None) == "network.hidden[0].kernel_size"
    assert "5x5 kernel is larger than its 4x6 input" in str(e.value)


# --------------------------------------------------------------------------- folder errors


def data_error(tmp_path, folder, **fields) -> DataError:
    with pytest.raises(DataError) as e:
        build_dataset(image_spec(path=str(folder), **fields), seed=0)
    return e.value


def test_error_missing_folder(tmp_path):
    e = data_error(tmp_path, tmp_path / "nope")
    assert "folder not found" in e.message and e.file.endswith("nope")


def test_error_a_file_is_not_a_folder(tmp_path):
    f = tmp_path / "x.png"
    write_png(f, np.zeros((2, 2)))
    assert "is not a folder" in data_error(tmp_path, f).message


def test_error_no_class_folders(tmp_path):
    write_png(tmp_path / "flat" / "0.png", np.zeros((2, 2)))
    e = data_error(tmp_path, tmp_path / "flat")
    assert "no class sub-folders (it holds 1 images directly)" in e.message


def test_error_empty_class_names_the_folder(tmp_path):
    make_folder(tmp_path / "e")
    (tmp_path / "e" / "zebra").mkdir()
    (tmp_path / "e" / "zebra" / "readme.txt").write_text("x")
    e = data_error(tmp_path, tmp_path / "e")
    assert e.file.endswith("zebra") and "holds no PNG, JPEG or BMP images" in e.message


def test_error_one_class_only(tmp_path):
    make_folder(tmp_path / "one", classes=("a",))
    assert "only one class sub-folder ('a')" in data_error(tmp_path, tmp_path / "one").message


def test_error_a_class_of_one_image(tmp_path):
    make_folder(tmp_path / "s", n=1)
    e = data_error(tmp_path, tmp_path / "s")
    assert "has only 1 image" in e.message and e.file.endswith("cat")


def test_error_unreadable_image_names_the_file(tmp_path):
    make_folder(tmp_path / "u")
    (tmp_path / "u" / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    e = data_error(tmp_path, tmp_path / "u")
    assert e.file.endswith("broken.png") and "cannot read this image" in e.message


def test_error_truncated_image_names_the_file(tmp_path):
    make_folder(tmp_path / "t", hw=(40, 40))
    good = (tmp_path / "t" / "dog" / "0.png").read_bytes()
    (tmp_path / "t" / "dog" / "0.png").write_bytes(good[: len(good) // 2])
    e = data_error(tmp_path, tmp_path / "t")
    assert e.file.endswith("0.png") and "cannot read this image" in e.message


def test_error_mixed_sizes_without_resize(tmp_path):
    make_folder(tmp_path / "z", hw=(4, 6))
    write_png(tmp_path / "z" / "dog" / "9.png", np.zeros((5, 6)))
    e = data_error(tmp_path, tmp_path / "z")
    assert e.file.endswith("9.png")
    assert "is 5x6 pixels (height x width) but" in e.message and "is 4x6" in e.message
    assert "set data.size" in e.message
    ok = build_dataset(image_spec(path=str(tmp_path / "z"), size=[4, 6]), seed=0)
    assert ok.n_train + ok.n_test == 7


def test_error_folder_too_large_for_memory_names_size_and_limit(tmp_path):
    make_folder(tmp_path / "big", hw=(4, 6))
    with pytest.raises(DataError) as e:
        read_image_folder(tmp_path / "big", size=(1000, 1000), available=10 << 20)
    msg = e.value.message
    assert "6 images of 1x1000x1000 pixels need about 96 MB" in msg and "only 10 MB is available" in msg
    assert e.value.file == str(tmp_path / "big")
    with pytest.raises(DataError, match="only 1 MB is available"):
        check_image_memory(10**6, (1, 28, 28), "mnist.csv", available=1 << 20)


# --------------------------------------------------------------------------- pixel CSVs


def write_pixel_csv(path, n_per_class=3, shape=(1, 2, 3), header=True, scale=255, label_first=True):
    rng = np.random.default_rng(0)
    k = int(np.prod(shape))
    lines = []
    if header:
        names = [f"pixel{i}" for i in range(k)]
        lines.append(",".join(["label", *names] if label_first else [*names, "label"]))
    for c in (7, 3):
        for _ in range(n_per_class):
            px = [str(v) for v in rng.integers(0, scale + 1, k)]
            lines.append(",".join([str(c), *px] if label_first else [*px, str(c)]))
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_spec(path, **fields) -> DataSpec:
    data = {"kind": "csv", "path": str(path), **fields}
    return ExperimentSpec.from_dict({"data": data, "network": {"hidden": []}}).data


def test_pixel_csv_loads_mnist_layout(tmp_path):
    f = write_pixel_csv(tmp_path / "px.csv", shape=(1, 2, 3))
    ds = build_dataset(csv_spec(f, image_shape=[1, 2, 3]), seed=0)
    assert ds.is_image and ds.input_shape == (1, 2, 3) and ds.class_names == ["3", "7"]
    assert ds.n_train + ds.n_test == 6 and ds.info["target"] == "label"
    top = max(ds.X_train.max(), ds.X_test.max())
    assert top == 1.0 and 200 < ds.info["pixel_scale"] <= 255  # divided by the file's largest pixel
    assert ds.X_train.max() <= 1.0 and ds.table is not None
    assert ds.input_names == [f"pixel{i}" for i in range(6)]


def test_pixel_csv_reads_rows_as_channel_then_row_then_column(tmp_path):
    f = tmp_path / "order.csv"
    f.write_text(
        "label,a,b,c,d,e,f,g,h\n0,0,1,2,3,4,5,6,8\n1,0,1,2,3,4,5,6,8\n0,0,1,2,3,4,5,6,8\n1,0,1,2,3,4,5,6,8\n"
    )
    ds = build_dataset(csv_spec(f, image_shape=[2, 2, 2]), seed=0)
    assert np.array_equal(ds.X_train[0] * 8, [[[0, 1], [2, 3]], [[4, 5], [6, 8]]])


def test_pixel_csv_label_last_with_target(tmp_path):
    f = write_pixel_csv(tmp_path / "last.csv", label_first=False, scale=16)
    ds = build_dataset(csv_spec(f, image_shape=[1, 2, 3], target="label"), seed=0)
    assert ds.info["target"] == "label" and ds.n_classes == 2


def test_pixel_csv_without_header_takes_the_first_column_as_label(tmp_path):
    f = write_pixel_csv(tmp_path / "nohead.csv", header=False)
    ds = build_dataset(csv_spec(f, image_shape=[1, 2, 3]), seed=0)
    assert ds.n_classes == 2 and ds.input_shape == (1, 2, 3)


def test_pixel_csv_error_wrong_pixel_count(tmp_path):
    f = write_pixel_csv(tmp_path / "px.csv", shape=(1, 2, 3))
    with pytest.raises(DataError) as e:
        build_dataset(csv_spec(f, image_shape=[1, 28, 28]), seed=0)
    assert e.value.file.endswith("px.csv")
    assert (
        "has 6 pixel columns (every column but the label 'label') but image_shape [1, 28, 28]"
        in e.value.message
    )
    assert "needs 784" in e.value.message


def test_pixel_csv_error_text_pixel_names_row_and_column(tmp_path):
    f = tmp_path / "txt.csv"
    f.write_text("label,p0,p1\n0,1,2\n1,3,x\n0,1,2\n1,2,2\n")
    with pytest.raises(DataError) as e:
        build_dataset(csv_spec(f, image_shape=[1, 1, 2]), seed=0)
    assert (e.value.row, e.value.column) == (3, "p1") and "not a number" in e.value.message


def test_pixel_csv_error_negative_pixel_names_row_and_column(tmp_path):
    f = tmp_path / "neg.csv"
    f.write_text("label,p0,p1\n0,1,2\n1,3,-4\n0,1,2\n1,2,2\n")
    with pytest.raises(DataError) as e:
        build_dataset(csv_spec(f, image_shape=[1, 1, 2]), seed=0)
    assert (e.value.row, e.value.column) == (3, "p1") and "-4 is not a finite number >= 0" in e.value.message


def test_pixel_csv_missing_values_dropped_or_refused(tmp_path):
    f = tmp_path / "miss.csv"
    f.write_text("label,p0,p1\n0,1,2\n1,3,\n0,1,2\n1,2,2\n0,2,2\n1,0,1\n")
    ds = build_dataset(csv_spec(f, image_shape=[1, 1, 2]), seed=0)
    assert ds.info["rows_dropped"] == 1 and ds.n_train + ds.n_test == 5
    with pytest.raises(DataError) as e:
        build_dataset(csv_spec(f, image_shape=[1, 1, 2], missing="error"), seed=0)
    assert (e.value.row, e.value.column) == (3, "p1")


def test_pixel_csv_error_unknown_label_and_single_class(tmp_path):
    f = write_pixel_csv(tmp_path / "px.csv")
    with pytest.raises(DataError, match="no label column named 'digit'"):
        build_dataset(csv_spec(f, image_shape=[1, 2, 3], target="digit"), seed=0)
    one = tmp_path / "one.csv"
    one.write_text("label,p0\n1,0\n1,1\n1,2\n")
    with pytest.raises(DataError, match="fewer than 2 classes"):
        build_dataset(csv_spec(one, image_shape=[1, 1, 1]), seed=0)


@pytest.mark.parametrize("resize", [None, [3, 5]])
def test_a_session_of_an_image_folder_opens_after_the_folder_is_gone(tmp_path, resize):
    """The images as trained on (resized, split) are embedded, 8-bit pixels as bytes: the
    folder moved or deleted, the session opens, holds the same arrays and resumes exactly."""
    import shutil
    import zipfile

    import playground
    from playground.session import document

    folder = make_folder(tmp_path / "pets", classes=("cat", "dog", "eel"), n=4, rgb=True)
    data = {"kind": "image", "path": str(folder), **({"size": resize} if resize else {})}
    spec = {
        "data": data,
        "network": {"hidden": [{"kind": "conv2d", "filters": 2, "kernel_size": 3, "padding": "same"}]},
        "training": {"batch_size": 4, "optimizer": {"name": "adam", "lr": 0.01}},
    }
    exp = playground.Experiment.from_spec(spec)
    exp.train(steps=3)
    path = exp.save(tmp_path / "pets.playground")
    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read(document.DOCUMENT))
    assert doc["data"]["images"]["scale"] == 255  # 8-bit: stored as bytes
    assert doc["members"][document.IMAGE_MEMBERS[0]]["dtype"] == "|u1"
    shutil.rmtree(folder)
    back = playground.load(path)
    for a in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(back.dataset, a), getattr(exp.dataset, a))
    assert back.dataset.class_names == ["cat", "dog", "eel"] and back.dataset.info["color"] == "rgb"
    exp.train(steps=3)
    back.train(steps=3)
    np.testing.assert_array_equal(back.trainer.theta, exp.trainer.theta)
    again = playground.load(back.save(tmp_path / "again.playground"))
    np.testing.assert_array_equal(again.dataset.X_test, exp.dataset.X_test)


def test_a_damaged_embedded_image_set_is_a_clear_session_error(tmp_path):
    import zipfile

    import playground
    from playground.errors import SessionError
    from playground.session import document

    folder = make_folder(tmp_path / "pets")
    exp = playground.Experiment.from_spec(
        {"data": {"kind": "image", "path": str(folder)}, "network": {"hidden": []}}
    )
    path = exp.save(tmp_path / "pets.playground")
    bad = tmp_path / "bad.playground"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == document.DOCUMENT:
                doc = json.loads(data)
                doc["data"]["images"]["class_names"] = ["only"]
                data = json.dumps(doc).encode()
            dst.writestr(info, data)
    with pytest.raises(SessionError, match="class_names"):
        playground.load(bad)


@pytest.mark.parametrize("hidden", [[], [{"kind": "dense", "units": 3}]])
def test_a_dense_network_on_images_saves_and_opens(tmp_path, hidden):
    """Dense layers on images go through an implicit flatten row (its size is the input's):
    such a session opened with 'network_sizes does not match the spec's hidden layers'."""
    import playground

    exp = playground.Experiment.from_spec(
        {"data": {"kind": "image", "name": "digits"}, "network": {"hidden": hidden}}
    )
    exp.train(steps=2)
    back = playground.load(exp.save(tmp_path / "dense.playground"))
    np.testing.assert_array_equal(back.trainer.theta, exp.trainer.theta)
    exp.train(steps=2)
    back.train(steps=2)
    np.testing.assert_array_equal(back.trainer.theta, exp.trainer.theta)
