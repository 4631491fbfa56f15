import subprocess
import sys

import numpy as np
import pytest

import dpdown
from dpdown.errors import ParameterError

import naive
from conftest import photo_crop, random_image


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 1), (20, 30, 3), (20, 30, 4)])
def test_dtype_and_layout_preserved(dtype, shape):
    img = random_image(shape, dtype)
    out = dpdown.downscale(img, 4, method="dpid", lam=1.0)
    assert out.dtype == img.dtype
    assert out.shape == (5, 8) + shape[2:]


def test_integer_output_is_the_rounded_naive_result():
    img = photo_crop()
    out = dpdown.downscale(img, 3, method="dpid", lam=1.0)
    expected = np.rint(np.clip(naive.dpid(naive.working(img), 1.0, k=3), 0, 1) * 255)
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert (out == expected).mean() > 0.99


def test_issue_examples():
    img = random_image((480 * 2, 640 * 2, 3), np.uint8)
    assert dpdown.downscale(img, 4, method="dpid", lam=1.0).shape == (240, 320, 3)
    assert dpdown.downscale(img, shape=(480, 640), method="dpid").shape == (480, 640, 3)
    assert dpdown.downscale(img, shape=(None, 100), method="dpid").shape == (75, 100, 3)
    assert dpdown.downscale(img, scale=0.3, method="dpid").shape == (288, 384, 3)
    assert dpdown.downscale(img, 2, method="dpp", lam=1.0, alpha=1.0, variant="sym").shape == (480, 640, 3)
    assert dpdown.downscale(img, 3, stride=2, method="avg").shape == (480, 640, 3)


def test_stride_defaults_to_k():
    img = random_image((12, 12, 3), np.float64)
    np.testing.assert_array_equal(dpdown.downscale(img, 3, method="dpp"),
                                  dpdown.downscale(img, 3, stride=3, method="dpp"))


@pytest.mark.parametrize("kwargs,match", [
    (dict(k=2, method="nope"), "unknown method"),
    (dict(k=2, method="dpid", alpha=1.0), "no parameter"),
    (dict(k=2, method="dpid", lam=-1.0), "must be in"),
    (dict(k=2, method="dpp", variant="both"), "must be one of"),
    (dict(k=2, method="dpp", filter=(1, 2, 3)), "needs 9"),
    (dict(k=0), "at least 1"),
    (dict(k=2.5), "integer"),
    (dict(k=50), "larger than the image"),
    (dict(), "exactly one"),
    (dict(k=2, scale=0.5), "exactly one"),
    (dict(shape=(40, 40)), "only downscales"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        dpdown.downscale(random_image((20, 30, 3), np.uint8), **kwargs)


@pytest.mark.parametrize("img", [np.zeros((0, 5)), np.zeros((4, 4), np.int32), np.zeros((2, 2, 2, 2))])
def test_bad_images(img):
    with pytest.raises(ParameterError):
        dpdown.downscale(img, 1)


def test_methods_listed():
    assert {"avg", "dpid", "dpp"} <= set(dpdown.available_methods())


def test_import_and_help_do_not_load_numba():
    code = ("import sys, dpdown, dpdown.cli, dpdown.methods.registry; dpdown.methods.registry.methods();"
            "print('numba' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_numba_starts_without_scipy_linalg_and_leaves_it_importable():
    # dpdown.kernels.jit hides scipy.linalg while Numba sets up its CPU target (a fifth of a warm
    # start); afterwards SciPy and Numba's BLAS-backed np.dot must work as usual.
    code = ("import sys, numpy as np, numba, dpdown\n"
            "dpdown.downscale(np.zeros((4, 4, 3), np.uint8), 2)\n"
            "assert 'scipy.linalg' not in sys.modules\n"
            "import scipy.linalg\n"
            "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
            "assert (dot(np.eye(3), np.full((3, 3), 2.0)) == 2.0).all()\n"
            "assert np.allclose(scipy.linalg.eigh(np.eye(2))[0], 1.0)\n"
            "print('ok')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "ok"
