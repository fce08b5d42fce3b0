"""A CSV time series: windows and horizon, time-order split, normalisation fitted on the
training rows only (the numbers), missing values, errors naming file/row/column, the
shipped CO2 series by its relative path, spec checks and the session's table route."""

from __future__ import annotations

import numpy as np
import pytest

from playground.data.build import build_dataset, dataset_from_table
from playground.data.csv_reader import read_csv_table
from playground.data.sequences import sequence_input_shape, validate_timeseries_spec
from playground.errors import DataError, SpecError
from playground.spec import DataSpec, ExperimentSpec


def _csv(tmp_path, text: str, name: str = "series.csv") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _series_file(tmp_path, n=30):
    t = np.arange(n)
    a = (t * 1.5 + 2.0) ** 1.1
    b = np.cos(t / 3.0) * 10
    lines = ["day,a,b"] + [f"d{i},{float(a[i])!r},{float(b[i])!r}" for i in range(n)]
    return _csv(tmp_path, "\n".join(lines) + "\n"), a, b


def test_windows_horizon_and_time_order_split(tmp_path):
    path, a, b = _series_file(tmp_path)
    d = DataSpec(kind="csv", path=path, window=4, horizon=3, target="b", columns=("a", "b"),
                 normalize="none", train_fraction=0.75)  # fmt: skip
    ds = build_dataset(d)
    n = 30 - 4 - 3 + 1
    assert ds.n_train + ds.n_test == n and ds.n_train == round(0.75 * n)
    assert ds.X_train.shape == (ds.n_train, 4, 2) and ds.y_train.shape == (ds.n_train, 1)
    M = np.column_stack([a, b])
    for i in (0, 5, ds.n_train - 1):
        np.testing.assert_allclose(ds.X_train[i], M[i : i + 4])
        assert ds.y_train[i, 0] == b[i + 4 - 1 + 3]
    j = ds.n_train  # the first test sample follows the last training one in time
    np.testing.assert_allclose(ds.X_test[0], M[j : j + 4])
    t = np.concatenate([ds.info["train_time"], ds.info["test_time"]])
    np.testing.assert_array_equal(t, np.arange(6, 30))
    assert ds.input_names[:2] == ["a[t-3]", "b[t-3]"] and ds.input_names[-1] == "b[t]"
    assert ds.target_names == ["b[t+3]"] and ds.task == "regression"
    assert ds.info["time_column"] == "day" and ds.info["time_labels"][0] == "d0"
    assert not ds.info["inputs_are_target"]
    assert sequence_input_shape(d) == ds.input_shape == (4, 2)


def test_normalisation_is_fitted_on_the_training_rows_only(tmp_path):
    path, a, b = _series_file(tmp_path)
    ds = build_dataset(DataSpec(kind="csv", path=path, window=5, target="a", train_fraction=0.5))
    # default: input = the target, standard normalisation
    last = int(ds.info["train_time"][-1])
    assert last == 5 - 1 + 1 + ds.n_train - 1
    mean, sd = a[: last + 1].mean(), a[: last + 1].std()
    assert abs(mean - a.mean()) > 1.0
    np.testing.assert_allclose(ds.pipeline.offset, mean, rtol=1e-13)
    np.testing.assert_allclose(ds.pipeline.scale, sd, rtol=1e-13)
    assert ds.info["target_offset"] == pytest.approx(mean, rel=1e-13)
    np.testing.assert_allclose(
        ds.X_test[:, :, 0], (np.stack([a[t - 5 : t] for t in ds.info["test_time"]]) - mean) / sd
    )
    np.testing.assert_allclose(ds.y_test[:, 0] * sd + mean, a[ds.info["test_time"]], rtol=1e-12)
    np.testing.assert_allclose(ds.pipeline.apply(ds.raw_test), ds.X_test.reshape(ds.n_test, -1), atol=1e-12)
    assert ds.info["inputs_are_target"] and ds.info["target"] == "a"


def test_minmax_maps_the_training_rows_to_minus_one_one(tmp_path):
    path, a, _ = _series_file(tmp_path)
    ds = build_dataset(DataSpec(kind="csv", path=path, window=3, target="a", normalize="minmax"))
    rows = a[: int(ds.info["train_time"][-1]) + 1]
    assert ds.X_train.min() == pytest.approx(-1.0) and ds.X_train.max() <= 1.0 + 1e-12
    assert ds.info["target_offset"] == pytest.approx((rows.min() + rows.max()) / 2)
    assert ds.X_test.max() > 1.0  # a rising series leaves the training range: nothing leaked


def test_default_target_is_the_first_numeric_column_not_an_id(tmp_path):
    path = _csv(tmp_path, "id,when,level\n" + "".join(f"{i},w{i},{i * i}\n" for i in range(12)))
    ds = build_dataset(DataSpec(kind="csv", path=path, window=2, normalize="none"))
    assert ds.info["target"] == "level"
    assert ds.y_train[0, 0] == 4.0  # level at row 2


def test_missing_values_drop_or_error_naming_row_and_column(tmp_path):
    text = "t,v\n" + "".join(f"{i},{'' if i == 4 else i}\n" for i in range(10))
    path = _csv(tmp_path, text)
    ds = build_dataset(DataSpec(kind="csv", path=path, window=2, target="v", normalize="none"))
    assert ds.info["rows_dropped"] == 1 and ds.info["n_used"] == 9
    assert 4.0 not in ds.info["series"] and list(ds.info["series_rows"][:5]) == [2, 3, 4, 5, 7]
    with pytest.raises(DataError) as e:
        build_dataset(DataSpec(kind="csv", path=path, window=2, target="v", missing="error"))
    assert (e.value.row, e.value.column) == (6, "v") and e.value.file.endswith("series.csv")


def test_errors_name_file_row_and_column(tmp_path):
    path = _csv(tmp_path, "t,v,w\n" + "".join(f"{i},{i},{'oops' if i == 6 else i}\n" for i in range(40)))
    with pytest.raises(DataError) as e:
        build_dataset(DataSpec(kind="csv", path=path, window=3, target="v", columns=("w",)))
    assert (
        (e.value.row, e.value.column) == (8, "w") and "oops" in str(e.value) and "series.csv" in str(e.value)
    )
    with pytest.raises(DataError) as e:
        build_dataset(DataSpec(kind="csv", path=path, window=3, target="nope"))
    assert e.value.column == "nope" and "available columns" in str(e.value)
    with pytest.raises(DataError, match="too few") as e:
        build_dataset(DataSpec(kind="csv", path=path, window=38, horizon=2, target="v"))
    assert e.value.file.endswith("series.csv")
    inf = _csv(tmp_path, "v\n1\n2\ninf\n4\n5\n6\n", "inf.csv")
    with pytest.raises(DataError) as e:
        build_dataset(DataSpec(kind="csv", path=inf, window=2, target="v"))
    assert (e.value.row, e.value.column) == (4, "v")
    with pytest.raises(DataError, match="not found"):
        build_dataset(DataSpec(kind="csv", path=str(tmp_path / "missing.csv"), window=2))


def test_shipped_co2_series_loads_by_its_relative_path():
    spec = ExperimentSpec.from_dict(
        {
            "data": {"kind": "csv", "path": "co2_weekly.csv", "window": 52, "train_fraction": 0.8},
            "network": {"hidden": [{"kind": "lstm", "units": 8}], "output_activation": "linear"},
            "training": {"loss": "mse"},
        }
    )
    ds = build_dataset(spec.data, spec.seed)
    assert ds.info["target"] == "co2_ppm" and ds.info["time_column"] == "date"
    assert ds.info["n_rows"] == 2284 and ds.info["rows_dropped"] == 59
    assert ds.input_shape == (52, 1) and ds.n_train + ds.n_test == 2284 - 59 - 52
    raw = ds.info["series"] * ds.info["target_scale"] + ds.info["target_offset"]
    assert 310 < raw.min() < 320 and 365 < raw.max() < 375  # ppm, 1958-2001
    assert ds.info["time_labels"][0] == "1958-03-29"


def test_session_route_rebuilds_the_same_data_from_the_table(tmp_path):
    path, _, _ = _series_file(tmp_path)
    d = DataSpec(kind="csv", path=path, window=4, target="b")
    ds = build_dataset(d)
    again = dataset_from_table(read_csv_table(path), d)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    np.testing.assert_array_equal(ds.y_test, again.y_test)
    assert again.table is not None and "features" not in again.info


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"window": 0}, "data.window"),
        ({"window": 3, "horizon": 0}, "data.horizon"),
        ({"window": 100_000}, "data.window"),
        ({"window": 3, "columns": ("a", "a")}, "data.columns"),
        ({"window": 3, "columns": ("",)}, "data.columns[0]"),
        ({"window": 3, "features": ("a",)}, "data.features"),
        ({"window": 3, "task": "classification"}, "data.task"),
    ],
)
def test_spec_errors_name_the_field(kw, field):
    with pytest.raises(SpecError) as e:
        validate_timeseries_spec(DataSpec(kind="csv", path="x.csv", **kw))
    assert e.value.path == field
