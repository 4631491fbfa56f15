import numpy as np
import pytest

from dpdown.errors import ParameterError
from dpdown.kernels import footprints

import naive


@pytest.mark.parametrize("n,k,stride", [(10, 2, 2), (11, 2, 2), (7, 3, 2), (13, 5, 5), (5, 5, 1), (9, 4, 3),
                                         (10, 2, 5), (11, 2, 5), (9, 1, 4), (8, 3, 7)])
def test_window_axis_matches_ceil_mode(n, k, stride):
    axis = footprints.window_axis(n, k, stride)
    expected = naive.window_spans(n, k, stride)
    assert axis.size == len(expected)
    count = int(np.ceil((n - k) / stride)) + 1  # the usual count, and PyTorch's before its correction
    assert axis.size == (count - 1 if (count - 1) * stride >= n else count)
    assert np.all(axis.stop > axis.start), "every window holds a pixel"
    for i, (xs, ws) in enumerate(expected):
        assert list(range(axis.start[i], axis.stop[i])) == list(xs)
    assert np.all(axis.weight == 1)
    covered = set().union(*[set(range(a, b)) for a, b in zip(axis.start, axis.stop)])
    if stride <= k:
        assert covered == set(range(n)), "ceil mode drops no pixel"


@pytest.mark.parametrize("n,n_out", [(1000, 333), (7, 3), (10, 4), (5, 5), (17, 1), (1, 1), (640, 480)])
def test_coverage_axis_matches_formula(n, n_out):
    axis = footprints.coverage_axis(n, n_out)
    expected = naive.coverage_spans(n, n_out)
    assert np.all(axis.stop > axis.start), "every span holds a pixel"
    for i, (xs, ws) in enumerate(expected):
        assert list(range(axis.start[i], axis.stop[i])) == list(xs)
        got = axis.weight[axis.offset[i]:axis.offset[i] + len(xs)]
        np.testing.assert_allclose(got, ws, atol=1e-12)
        assert got.sum() == pytest.approx(n / n_out)
    # every input pixel is covered exactly once in total
    totals = np.zeros(n)
    for i in range(n_out):
        totals[axis.start[i]:axis.stop[i]] += axis.weight[axis.offset[i]:axis.offset[i] + axis.stop[i] - axis.start[i]]
    np.testing.assert_allclose(totals, 1.0)


@pytest.mark.parametrize("text,expected", [("640x480", (480, 640)), ("640x", (None, 640)), ("x480", (480, None)),
                                           (" 12 X 7 ", (7, 12))])
def test_parse_size(text, expected):
    assert footprints.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "x", "640", "axb", "0x10", "-5x4", "640x480x3"])
def test_parse_size_rejects(text):
    with pytest.raises(ParameterError):
        footprints.parse_size(text)


def test_output_shape_keeps_aspect():
    assert footprints.output_shape((3000, 4000), size=(None, 640)) == (480, 640)
    assert footprints.output_shape((3000, 4000), size=(480, None)) == (480, 640)
    assert footprints.output_shape((1000, 1000), scale=0.333) == (333, 333)


@pytest.mark.parametrize("kwargs", [dict(k=0), dict(k=20), dict(k=2, out_shape=(2, 2)), dict(),
                                    dict(out_shape=(20, 5)), dict(scale=1.5), dict(scale=0.5, stride=2)])
def test_plan_rejects(kwargs):
    with pytest.raises(ParameterError):
        footprints.plan((10, 12), **kwargs)
