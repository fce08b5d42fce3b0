"""Layer kinds in network.hidden (conv2d, pooling, flatten, dense): the spec fields, their
validation errors (with the field path), serialisation, and the shape / parameter-count
helper against PyTorch's numbers (computed by hand from torch.nn's formulas)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from playground.errors import SpecError
from playground.shapes import LayerShape, ShapeError, count_params, layer_shapes, stack_report
from playground.spec import (
    DataSpec,
    ExperimentSpec,
    LayerSpec,
    check_memory,
    default_spec,
    estimate_memory,
    network_sizes,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sessions"

DIGITS = {"kind": "image", "name": "digits", "train_fraction": 0.75}
W4_HIDDEN = [
    {"kind": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"kind": "maxpool2d", "size": 2},
    {"kind": "conv2d", "filters": 16, "kernel_size": 3, "padding": "same", "activation": "relu"},
    {"kind": "maxpool2d", "size": 2},
    {"kind": "flatten"},
]


def spec_of(hidden, data=None, **network) -> ExperimentSpec:
    return ExperimentSpec.from_dict(
        {
            "data": data or DIGITS,
            "network": {"hidden": hidden, "output_activation": "softmax", **network},
            "training": {"loss": "cce"},
        }
    )


def fails(hidden, path: str, words: str, data=None) -> SpecError:
    with pytest.raises(SpecError) as e:
        spec_of(hidden, data)
    assert e.value.path == path, str(e.value)
    assert words in e.value.message, str(e.value)
    return e.value


# --------------------------------------------------------------------------- serialisation


def test_w4_spec_round_trips_and_writes_only_each_kinds_fields():
    spec = spec_of(W4_HIDDEN)
    d = spec.to_dict()
    assert d["network"]["hidden"][0] == {
        "kind": "conv2d",
        "filters": 8,
        "kernel_size": 3,
        "padding": "same",
        "activation": "relu",
        "bias": True,
        "dropout": 0.0,
        "negative_slope": 0.01,
    }
    assert d["network"]["hidden"][1] == {"kind": "maxpool2d", "size": 2}
    assert d["network"]["hidden"][4] == {"kind": "flatten"}
    again = ExperimentSpec.from_json(spec.to_json())
    assert again == spec
    assert again.to_json() == spec.to_json()
    assert d["data"]["kind"] == "image" and "size" not in d["data"]


def test_every_kind_and_option_round_trips():
    hidden = [
        {
            "kind": "conv2d",
            "filters": 4,
            "kernel_size": 2,
            "stride": 2,
            "padding": "valid",
            "bias": False,
            "activation": "leaky_relu",
            "negative_slope": 0.2,
            "dropout": 0.1,
        },
        {"kind": "avgpool2d", "size": 1, "stride": 1},
        {"kind": "maxpool2d", "size": 2, "stride": 1},
        {"kind": "flatten"},
        {"kind": "dense", "units": 5, "activation": "relu", "dropout": 0.2},
        {"units": 3},
    ]
    spec = spec_of(hidden, data={"kind": "image", "name": "bars", "size": [9, 9], "n_samples": 40})
    layers = spec.network.hidden
    assert [h.kind for h in layers] == ["conv2d", "avgpool2d", "maxpool2d", "flatten", "dense", "dense"]
    assert layers[0].stride == 2 and layers[0].bias is False and layers[2].stride == 1
    assert layers[1].stride == 1 and spec.network.hidden[5].units == 3
    assert ExperimentSpec.from_dict(spec.to_dict()) == spec
    assert spec.data.size == (9, 9)
    assert spec.to_dict()["data"]["size"] == [9, 9]


def test_stride_defaults_stay_unwritten():
    spec = spec_of([{"kind": "maxpool2d", "size": 2}, {"kind": "conv2d", "filters": 2}])
    pool, conv = spec.network.hidden
    assert pool.stride is None and conv.stride is None
    assert "stride" not in pool.to_dict() and "stride" not in conv.to_dict()


def test_dense_layers_serialise_as_before():
    """A dense layer writes exactly the five fields it always wrote, in the same order."""
    assert list(LayerSpec().to_dict()) == ["units", "activation", "dropout", "kind", "negative_slope"]
    d = default_spec().to_dict()
    assert list(d["data"]) == [
        "kind",
        "name",
        "n_samples",
        "noise",
        "train_fraction",
        "n_classes",
        "features",
        "seed",
        "path",
        "target",
        "task",
        "normalize",
        "missing",
        "delimiter",
        "header",
        "skip_rows",
    ]


@pytest.mark.parametrize("name", ["v1_iris_csv", "v1_lbfgs", "v1_spiral_adam"])
def test_specs_written_before_serialise_byte_for_byte(name):
    with zipfile.ZipFile(FIXTURES / f"{name}.playground") as z:
        stored = json.loads(z.read("session.json"))["spec"]
    stored["data"].setdefault("skip_rows", None)  # the one field added since these were written
    spec = ExperimentSpec.from_dict(stored)
    assert json.dumps(spec.to_dict(), indent=2) == json.dumps(stored, indent=2)


def test_a_layer_without_kind_is_dense():
    spec = ExperimentSpec.from_dict({"network": {"hidden": [{"units": 4, "activation": "relu"}]}})
    assert spec.network.hidden[0] == LayerSpec(4, "relu")


def test_with_changes_edits_a_conv_field():
    spec = spec_of(W4_HIDDEN).with_changes("network.hidden.0.filters", 4)
    assert spec.network.hidden[0].filters == 4


# --------------------------------------------------------------------------- field errors


@pytest.mark.parametrize(
    "layer, field, words",
    [
        ({"kind": "conv3d"}, "kind", "unknown value 'conv3d'; choose one of: dense, conv2d"),
        ({"kind": 3}, "kind", "must be a string"),
        ({"kind": "conv2d", "filters": 0}, "filters", "must be >= 1"),
        ({"kind": "conv2d", "filters": 10**6}, "filters", "must be at most 100,000"),
        ({"kind": "conv2d", "kernel_size": 0}, "kernel_size", "must be >= 1"),
        ({"kind": "conv2d", "stride": 0}, "stride", "must be >= 1"),
        ({"kind": "conv2d", "padding": "full"}, "padding", "choose one of: valid, same"),
        ({"kind": "conv2d", "padding": 1}, "padding", "must be a string"),
        ({"kind": "conv2d", "activation": "softmax"}, "activation", "unknown value 'softmax'"),
        ({"kind": "conv2d", "dropout": 1.0}, "dropout", "must be in [0, 1)"),
        ({"kind": "conv2d", "bias": 1}, "bias", "must be true or false"),
        (
            {"kind": "conv2d", "units": 8},
            "units",
            "not apply to conv2d layers; their fields are: kind, filters",
        ),
        ({"kind": "maxpool2d", "size": 0}, "size", "must be >= 1"),
        ({"kind": "avgpool2d", "size": 2, "stride": 0}, "stride", "must be >= 1"),
        ({"kind": "maxpool2d", "activation": "relu"}, "activation", "does not apply to maxpool2d layers"),
        ({"kind": "avgpool2d", "dropout": 0.5}, "dropout", "does not apply to avgpool2d layers"),
        ({"kind": "flatten", "size": 2}, "size", "does not apply to flatten layers; their fields are: kind"),
        ({"kind": "dense", "filters": 8}, "filters", "does not apply to dense layers"),
        ({"filters": 8}, "filters", "does not apply to dense layers"),
        ({"kind": "dense", "units": 0}, "units", "must be between 1 and 100000"),
        ({"kind": "conv2d", "kernel": 3}, "kernel", "unknown key; expected one of:"),
    ],
)
def test_layer_field_errors_name_their_path(layer, field, words):
    fails([{"kind": "conv2d", "filters": 2}, layer], f"network.hidden[1].{field}", words)


def test_conv_on_flat_data_is_refused():
    e = fails([{"kind": "conv2d"}], "network.hidden[0].kind", "needs image data", data={"kind": "toy"})
    assert "data.image_shape" in e.message
    fails(
        [{"kind": "dense", "units": 4}, {"kind": "maxpool2d"}],
        "network.hidden[1].kind",
        "needs image data",
        data={"kind": "csv", "path": "iris.csv", "target": "species"},
    )


def test_conv_or_pool_after_flatten_or_dense_is_refused():
    e = fails(
        [{"kind": "conv2d"}, {"kind": "flatten"}, {"kind": "conv2d"}],
        "network.hidden[2].kind",
        "cannot follow the flatten layer hidden[1]",
    )
    assert "before any flatten or dense layer" in e.message
    fails(
        [{"kind": "dense", "units": 4}, {"kind": "avgpool2d"}],
        "network.hidden[1].kind",
        "cannot follow the dense layer hidden[0]",
    )


def test_a_kernel_larger_than_its_input_is_refused():
    e = fails(
        [
            {"kind": "maxpool2d", "size": 2},
            {"kind": "maxpool2d", "size": 2},
            {"kind": "conv2d", "kernel_size": 3},
        ],
        "network.hidden[2].kernel_size",
        "a 3x3 kernel is larger than its 2x2 input (the output of hidden[1] (maxpool2d))",
    )
    assert "'same' padding" in e.message
    fails(
        [{"kind": "conv2d", "kernel_size": 9}],
        "network.hidden[0].kernel_size",
        "8x8 input (the input images)",
    )


def test_a_pool_window_larger_than_its_input_is_refused():
    fails(
        [{"kind": "conv2d", "kernel_size": 7}, {"kind": "maxpool2d", "size": 3}],
        "network.hidden[1].size",
        "a 3x3 maxpool2d window is larger than its 2x2 input",
    )


def test_same_padding_with_stride_is_refused_as_torch_does():
    fails(
        [{"kind": "conv2d", "padding": "same", "stride": 2}],
        "network.hidden[0].padding",
        "'same' padding needs stride 1 (PyTorch refuses",
    )


def test_a_large_kernel_with_same_padding_is_fine():
    spec = spec_of([{"kind": "conv2d", "kernel_size": 11, "padding": "same", "filters": 2}])
    assert layer_shapes((1, 8, 8), spec.network.hidden)[0].shape == (2, 8, 8)


def test_image_size_checked_against_the_stack():
    data = {"kind": "image", "name": "shapes", "size": [8, 10]}
    fails([{"kind": "conv2d", "kernel_size": 9}], "network.hidden[0].kernel_size", "8x10 input", data=data)
    csv = {"kind": "csv", "path": "mnist.csv", "image_shape": [1, 4, 4]}
    fails([{"kind": "conv2d", "kernel_size": 5}], "network.hidden[0].kernel_size", "4x4 input", data=csv)


def test_an_image_folder_without_size_checks_the_order_only():
    folder = {"kind": "image", "path": "somewhere"}
    spec = spec_of([{"kind": "conv2d", "kernel_size": 99}], data=folder)  # size unknown until read
    assert spec.network.hidden[0].kernel_size == 99
    fails([{"kind": "flatten"}, {"kind": "conv2d"}], "network.hidden[1].kind", "cannot follow", data=folder)


# --------------------------------------------------------------------------- shapes and parameters


def test_w4_shapes_and_parameters_match_pytorch():
    """W4 of BENCHMARKS.md: Conv2d(1,8,3,padding=1) relu maxpool2 -> Conv2d(8,16,3,padding=1)
    relu maxpool2 -> Flatten -> Linear(64,10); torch: 80 + 1168 + 650 = 1898 parameters."""
    rows = layer_shapes((1, 8, 8), spec_of(W4_HIDDEN).network.hidden, n_out=10)
    assert [r.shape for r in rows] == [(8, 8, 8), (8, 4, 4), (16, 4, 4), (16, 2, 2), (64,), (10,)]
    assert [r.n_params for r in rows] == [80, 0, 1168, 0, 0, 650]
    assert [r.index for r in rows] == [0, 1, 2, 3, 4, None]
    assert count_params((1, 8, 8), spec_of(W4_HIDDEN).network.hidden, 10) == 1898


def test_an_implicit_flatten_before_the_output_and_before_dense():
    hidden = spec_of(W4_HIDDEN[:4]).network.hidden  # ends with a pooling layer
    rows = layer_shapes((1, 8, 8), hidden, n_out=10)
    assert rows[-2] == LayerShape(None, "flatten", (64,), 0, implicit=True)
    assert rows[-1] == LayerShape(None, "dense", (10,), 650)
    rows = layer_shapes((1, 8, 8), spec_of([W4_HIDDEN[0], {"units": 5}]).network.hidden)
    assert rows[1] == LayerShape(1, "flatten", (512,), 0, implicit=True)
    assert rows[2] == LayerShape(1, "dense", (5,), 512 * 5 + 5)


def test_strided_valid_conv_and_pools_follow_torch_formulas():
    # Conv2d(3, 6, 5, stride=2) on 3x32x32: floor((32 - 5) / 2) + 1 = 14; 6*3*5*5 + 6 = 456
    # MaxPool2d(3, stride=2) on 14: floor((14 - 3) / 2) + 1 = 6; AvgPool2d(2) on 6: 3
    # Conv2d(6, 4, 2, bias=False, padding='same') keeps 3x3: 4*6*2*2 = 96; Linear(36, 7) = 259
    hidden = [
        LayerSpec(kind="conv2d", filters=6, kernel_size=5, stride=2),
        LayerSpec(kind="maxpool2d", size=3, stride=2),
        LayerSpec(kind="avgpool2d", size=2),
        LayerSpec(kind="conv2d", filters=4, kernel_size=2, padding="same", bias=False),
    ]
    rows = layer_shapes((3, 32, 32), hidden, n_out=7)
    assert [r.shape for r in rows] == [(6, 14, 14), (6, 6, 6), (6, 3, 3), (4, 3, 3), (36,), (7,)]
    assert [r.n_params for r in rows] == [456, 0, 0, 96, 0, 259]


def test_rectangular_images_and_a_tabular_mlp():
    # Conv2d(1, 2, 3) on 1x5x9 -> 2x3x7 (20 params); MaxPool2d(2) -> 2x1x3
    rows = layer_shapes((1, 5, 9), [LayerSpec(kind="conv2d", filters=2), LayerSpec(kind="maxpool2d")], 3)
    assert [r.shape for r in rows] == [(2, 3, 7), (2, 1, 3), (6,), (3,)]
    # an MLP on 4 inputs: Linear(4, 8), Linear(8, 3)
    assert [r.n_params for r in layer_shapes((4,), [LayerSpec(8)], 3)] == [40, 27]


def test_stack_report_keeps_the_good_rows_and_says_why():
    hidden = [
        LayerSpec(kind="maxpool2d"),
        LayerSpec(kind="maxpool2d"),
        LayerSpec(kind="conv2d", kernel_size=3),
    ]
    rows, err = stack_report((1, 8, 8), hidden, n_out=10)
    assert [r.shape for r in rows] == [(1, 4, 4), (1, 2, 2)]
    assert isinstance(err, ShapeError) and err.path == "network.hidden[2].kernel_size"
    assert "larger than its 2x2 input" in str(err)
    rows, err = stack_report((1, 8, 8), hidden[:2], n_out=10)
    assert err is None and rows[-1].shape == (10,)


def test_memory_estimate_counts_conv_parameters_and_activations():
    spec = spec_of(W4_HIDDEN)
    assert network_sizes(spec, 64, 10, (1, 8, 8)) == [64, 512, 128, 256, 64, 64, 10]
    n_params, need = estimate_memory(spec, 64, 10, 1, (1, 8, 8))
    assert n_params == 1898
    assert need == 7 * 1898 * 8 + 4 * 1 * sum([64, 512, 128, 256, 64, 64, 10]) * 8
    with pytest.raises(SpecError) as e:
        check_memory(spec, 64, 10, available=need - 1, n_rows=1, input_shape=(1, 8, 8))
    assert e.value.path == "network.hidden" and "1,898 parameters" in e.value.message


def test_dense_memory_estimate_unchanged():
    spec = default_spec()
    assert network_sizes(spec, 2, 1) == [2, 8, 8, 1]
    assert estimate_memory(spec, 2, 1)[0] == 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1


def test_a_huge_conv_stack_is_refused_before_allocation():
    data = {"kind": "image", "name": "shapes", "size": [256, 256]}
    with pytest.raises(SpecError) as e:
        spec_of([{"kind": "conv2d", "filters": 100_000, "kernel_size": 3, "padding": "same"}], data=data)
    assert e.value.path == "network.hidden" and "needs about" in e.value.message


# --------------------------------------------------------------------------- data fields


@pytest.mark.parametrize(
    "data, path, words",
    [
        ({"kind": "image", "name": "mnist"}, "data.name", "'mnist'; choose one of: digits, bars, shapes"),
        ({"kind": "image"}, "data.name", "unknown value 'spiral'"),
        ({"kind": "image", "name": "digits", "size": [16, 16]}, "data.size", "the digits images are 8x8"),
        ({"kind": "image", "name": "bars", "size": [8]}, "data.size", "must be [height, width]"),
        ({"kind": "image", "name": "bars", "size": [2, 8]}, "data.size[0]", "must be >= 4"),
        ({"kind": "image", "name": "shapes", "size": [8, 4]}, "data.size[1]", "must be >= 8"),
        ({"kind": "image", "name": "bars", "n_samples": 2}, "data.n_samples", "must be >= 4"),
        ({"kind": "image", "name": "bars", "noise": 2.0}, "data.noise", "must be in [0, 1]"),
        ({"kind": "image", "path": "d", "color": "cmyk"}, "data.color", "choose one of: gray, rgb"),
        ({"kind": "image", "path": "d", "size": [0, 5]}, "data.size[0]", "must be >= 1"),
        ({"kind": "image", "path": "d", "size": [5, 5000]}, "data.size[1]", "must be at most 4,096"),
        ({"kind": "image", "name": "bars", "color": "rgb"}, "data.color", "an image folder (data.path) only"),
        ({"kind": "image", "path": "d", "normalize": "standard"}, "data.normalize", "scaled to [0, 1]"),
        ({"kind": "image", "path": "d", "task": "regression"}, "data.task", "image data is classification"),
        ({"kind": "image", "path": "d", "features": ["x1"]}, "data.features", "does not apply to image data"),
        ({"kind": "image", "path": "d", "target": "y"}, "data.target", "does not apply to image data"),
        ({"kind": "toy", "size": [8, 8]}, "data.size", "applies to image data only"),
        ({"kind": "csv", "path": "a.csv", "target": "y", "color": "rgb"}, "data.color", "image data only"),
        ({"kind": "toy", "image_shape": [1, 2, 2]}, "data.image_shape", "applies to CSV data only"),
        ({"kind": "csv", "path": "a.csv", "image_shape": [28, 28]}, "data.image_shape", "[channels, height"),
        ({"kind": "csv", "path": "a.csv", "image_shape": [1, 0, 28]}, "data.image_shape[1]", "must be >= 1"),
        (
            {"kind": "csv", "path": "a.csv", "image_shape": [1, 28, 28], "normalize": "minmax"},
            "data.normalize",
            "leave normalize unset",
        ),
        ({"kind": "csv", "path": "a.csv"}, "data.target", "is required for CSV data"),
        ({"kind": "pictures"}, "data.kind", "choose one of: toy, csv, image"),
    ],
)
def test_image_data_field_errors(data, path, words):
    with pytest.raises(SpecError) as e:
        ExperimentSpec.from_dict({"data": data, "network": {"hidden": [{"units": 2}]}})
    assert e.value.path == path, str(e.value)
    assert words in e.value.message, str(e.value)


def test_pixel_csv_needs_no_target_and_round_trips():
    spec = ExperimentSpec.from_dict(
        {"data": {"kind": "csv", "path": "mnist.csv", "image_shape": [1, 28, 28]}, "network": {"hidden": []}}
    )
    assert spec.data.image_shape == (1, 28, 28)
    assert spec.to_dict()["data"]["image_shape"] == [1, 28, 28]
    assert ExperimentSpec.from_json(spec.to_json()) == spec


def test_relative_image_folder_is_found_beside_the_spec_file(tmp_path):
    (tmp_path / "pics").mkdir()
    f = tmp_path / "exp.json"
    f.write_text(json.dumps({"data": {"kind": "image", "path": "pics", "size": [8, 8]}}))
    assert ExperimentSpec.from_file(f).data.path == str((tmp_path / "pics").resolve())


def test_data_spec_defaults_are_unchanged():
    assert DataSpec().size == () and DataSpec().color is None and DataSpec().image_shape == ()
