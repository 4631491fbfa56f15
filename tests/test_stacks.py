"""Stacks of images (``layout="nhwc"`` / ``"nchw"``): one launch per pass of a method, and
every frame exactly as it would be downscaled alone."""

import numpy as np
import pytest

import dpdown
from dpdown.errors import ParameterError

from conftest import random_image

# the methods whose kernels read beyond a footprint (a neighbourhood, the next output row)
# and the plain ones; geometry: windows, and a coverage size
NEIGHBOURS = [("dpid", {}), ("dpp", dict(guide="full")), ("lip", dict(logit_filter=(0, 1, 0, 1, -4, 1, 0, 1, 0)))]
PLAIN = [("avg", {}), ("max", {}), ("softpool", {}), ("ordinal", {}), ("dpp", {}), ("s3pool", {}), ("lp", {})]
GEOMETRIES = [dict(k=2), dict(k=3), dict(shape=(5, 4))]


def frames_alone(stack, method, params, geometry):
    return np.stack([dpdown.downscale(frame, method=method, **geometry, **params) for frame in stack])


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
@pytest.mark.parametrize("method,params", NEIGHBOURS + PLAIN, ids=[m for m, _ in NEIGHBOURS + PLAIN])
def test_every_frame_of_a_stack_is_downscaled_as_if_alone(method, params, geometry):
    if method == "s3pool" and "shape" in geometry:
        pytest.skip("S3 sampling takes -k alone")
    stack = np.stack([random_image((12, 11, 3), np.uint8, seed=s) for s in range(3)])
    out = dpdown.downscale(stack, method=method, layout="nhwc", **geometry, **params)
    np.testing.assert_array_equal(out, frames_alone(stack, method, params, geometry))


@pytest.mark.parametrize("method,params", NEIGHBOURS, ids=[m for m, _ in NEIGHBOURS])
def test_neighbourhoods_stop_at_the_frame_edge(method, params):
    """The stack as one tall image is not the frames alone for these methods (their
    neighbourhoods would cross from one frame into the next): the frame edge is what the
    test above checks, not an accident of the geometry."""
    stack = np.stack([random_image((12, 11, 3), np.uint8, seed=s) for s in range(3)])
    tall = dpdown.downscale(stack.reshape(36, 11, 3), 2, method=method, **params)
    assert not np.array_equal(tall.reshape(3, 6, 6, 3), frames_alone(stack, method, params, dict(k=2)))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_nchw_is_the_same_stack_channels_first(dtype):
    stack = np.stack([random_image((9, 10, 4), dtype, seed=s) for s in range(2)])  # 4 channels: alpha
    nhwc = dpdown.downscale(stack, 2, method="dpid", layout="nhwc")
    nchw = dpdown.downscale(np.ascontiguousarray(stack.transpose(0, 3, 1, 2)), 2, method="dpid", layout="nchw")
    assert nchw.shape == (2, 4, 5, 5) and nchw.dtype == dtype
    np.testing.assert_array_equal(nchw, nhwc.transpose(0, 3, 1, 2))


def test_a_stack_is_one_launch_per_pass(monkeypatch):
    from dpdown.kernels.walkers import launch

    launches = []
    variant = launch.variant
    monkeypatch.setattr(launch, "variant", lambda *args: launches.append(1) or variant(*args))
    frame = random_image((12, 11, 3), np.uint8, seed=1)
    dpdown.downscale(frame, 2, method="dpid")
    alone = len(launches)
    dpdown.downscale(np.stack([frame] * 5), 2, method="dpid", layout="nhwc")
    assert alone and len(launches) == 2 * alone


def test_a_stack_in_strips_of_rows_is_the_same(monkeypatch):
    stack = np.stack([random_image((12, 11, 3), np.uint8, seed=s) for s in range(3)])
    whole = dpdown.downscale(stack, 2, method="dpid", layout="nhwc")
    in_strips = dpdown.downscale(stack, 2, method="dpid", layout="nhwc", memory_budget=6 * 3 * 8 * 4 * 5)
    np.testing.assert_array_equal(in_strips, whole)


def test_stacks_refused_clearly():
    with pytest.raises(ParameterError, match="4-D"):
        dpdown.downscale(np.zeros((8, 8, 3), np.uint8), 2, layout="nhwc")
    with pytest.raises(ParameterError, match="empty stack"):
        dpdown.downscale(np.zeros((0, 8, 8, 3), np.uint8), 2, layout="nchw")
    with pytest.raises(ParameterError, match="unknown layout"):
        dpdown.downscale(np.zeros((8, 8, 3), np.uint8), 2, layout="chw")


@pytest.mark.cuda
@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("method", ["avg", "dpid"])
def test_a_gpu_stack_stays_on_the_gpu(layout, method):
    from numba import cuda

    from dpdown.kernels import device as devices

    stack = np.stack([random_image((8, 7, 3), np.uint8, seed=s) for s in range(2)])
    given = stack if layout == "nhwc" else np.ascontiguousarray(stack.transpose(0, 3, 1, 2))
    out = dpdown.downscale(cuda.to_device(given), 2, method=method, layout=layout)
    assert devices.on_gpu(out)
    np.testing.assert_allclose(out.copy_to_host().astype(float),
                               dpdown.downscale(given, 2, method=method, layout=layout).astype(float), atol=1)
