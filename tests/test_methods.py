"""Every method's Numba kernel against its naive twin, and the papers' propositions."""

import numpy as np
import pytest

import dpdown

import naive
from conftest import METHODS, assert_output_close, photo_crop, random_image, run_final, run_method

DTYPES = [np.uint8, np.uint16, np.float32, np.float64]

# (input shape, geometry): integer windows, ceil-mode leftovers, strides, coverage footprints
GEOMETRIES = [
    ((16, 12, 3), dict(k=2)),
    ((29, 31, 3), dict(k=3)),              # primes: clipped last windows
    ((23, 17, 1), dict(k=4, stride=3)),
    ((13, 11, 3), dict(k=3, stride=1)),
    ((1, 1, 3), dict(k=1)),
    ((7, 7, 3), dict(out_shape=(3, 3))),   # 7 → 3
    ((1000, 9, 1), dict(out_shape=(333, 4))),  # 1000 → 333
    ((19, 26, 3), dict(out_shape=(5, 7))),
    ((5, 4, 3), dict(out_shape=(1, 1))),
]



@pytest.mark.parametrize("name,params,twin", METHODS, ids=lambda v: str(v) if not callable(v) else "")
@pytest.mark.parametrize("shape,geometry", GEOMETRIES, ids=str)
def test_kernel_equals_naive_float64(name, params, twin, shape, geometry):
    img = random_image(shape, np.float64, seed=sum(shape))
    np.testing.assert_allclose(run_method(name, img, params, geometry), twin(img, geometry), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,params,twin", METHODS, ids=lambda v: str(v) if not callable(v) else "")
def test_kernel_equals_naive_every_dtype(name, params, twin, dtype):
    img = random_image((21, 18, 3), dtype, seed=3)
    geometry = dict(k=4)
    assert_output_close(run_final(name, img, params, geometry), twin(naive.working(img), geometry), 1e-6)


@pytest.mark.parametrize("name,params,twin", METHODS, ids=lambda v: str(v) if not callable(v) else "")
@pytest.mark.parametrize("geometry", [dict(k=3), dict(out_shape=(14, 19))], ids=str)
def test_kernel_equals_naive_on_real_photo(name, params, twin, geometry):
    img = photo_crop()
    assert_output_close(run_final(name, img, params, geometry), twin(naive.working(img), geometry), 1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("name", ["avg", "dpid", "dpp", "softpool", "max", "lp"])
def test_alpha_is_premultiplied(name, dtype):
    img = random_image((12, 10, 4), dtype, seed=5)
    img[:, :5, 3] = 0  # a fully transparent half carries no colour
    got = run_method(name, img, {}, dict(k=3), has_alpha=True)
    twin = {"avg": naive.box, "dpid": lambda im, **g: naive.dpid(im, 1.0, alpha=3, **g),
            "dpp": naive.dpp, "softpool": naive.softpool, "max": naive.maximum,
            "lp": lambda im, **g: naive.lp(im, 2.0, **g)}[name]
    np.testing.assert_allclose(got, twin(naive.working(img, alpha=3), k=3), atol=1e-6)


def test_transparent_pixels_do_not_bleed():
    img = np.zeros((8, 8, 4), np.uint8)
    img[:, :, 0] = 255          # red everywhere, but...
    img[:, :4, 3] = 255         # ...opaque only on the left; right half transparent green
    img[:, 4:, 1] = 255
    for method in ("avg", "dpid", "dpp"):
        out = dpdown.downscale(img, shape=(3, 3), method=method)
        opaque = out[:, :, 3] > 0
        assert np.all(out[opaque][:, 1] == 0), method  # no green leaks into visible pixels


# ---- the papers' propositions ------------------------------------------------------------

@pytest.mark.parametrize("geometry", [dict(k=2), dict(k=3), dict(out_shape=(7, 5))], ids=str)
@pytest.mark.parametrize("variant", ["sym", "asym"])
@pytest.mark.parametrize("guide", ["lite", "full"])
def test_dpp_lambda_zero_is_average(geometry, variant, guide):
    img = random_image((20, 17, 3), np.float64)
    out = run_method("dpp", img, dict(lam=0.0, alpha=2.7, variant=variant, guide=guide), geometry)
    np.testing.assert_allclose(out, run_method("avg", img, {}, geometry), atol=1e-12)


# (method, parameters, dtype, shape, geometry): blocks cut short by both edges, 3×2 blocks,
# every exponent class of λ, linear light, 1 to 4 channels
BLOCK_RULES = [
    ("dpp", {}, np.uint8, (21, 17, 3), dict(k=2)),
    ("dpp", dict(lam=0.5), np.uint16, (22, 19, 1), dict(k=3)),
    ("dpp", dict(lam=2.0, variant="asym"), np.float32, (21, 26, 1), dict(out_shape=(7, 13))),
    ("dpp", dict(lam=1.7, alpha=0.0), np.float64, (19, 18, 2), dict(k=4)),
    ("dpp", dict(lam=3.0, linear=True), np.uint8, (17, 13, 3), dict(k=2)),
    ("dpp", dict(alpha=3.0), np.uint16, (9, 11, 4), dict(k=2)),
    ("softpool", {}, np.uint8, (21, 17, 3), dict(k=2)),
    ("softpool", {}, np.uint8, (22, 19, 1), dict(k=3)),
    ("softpool", dict(linear=True), np.uint8, (21, 26, 2), dict(out_shape=(7, 13))),
    ("lip", {}, np.uint8, (19, 18, 1), dict(k=4)),
]


@pytest.mark.parametrize("name,params,dtype,shape,geometry", BLOCK_RULES, ids=str)
def test_block_rules_equal_the_walkers(monkeypatch, name, params, dtype, shape, geometry):
    """Each block rule gives its walker's numbers, bit for bit; both compiled with the block
    size in, as by default (the suite compiles none, conftest)."""
    import importlib

    from dpdown.kernels.walkers import block, shared

    module = importlib.import_module("dpdown.methods." + ("softpool" if name == "lip" else name))
    monkeypatch.setattr(shared, "COMPILED_BLOCKS", frozenset({2, 3, 4}))
    ran = []
    plan = block.BlockKernel.plan
    monkeypatch.setattr(block.BlockKernel, "plan", lambda self, *args: ran.append(self.name) or plan(self, *args))
    img = random_image(shape, dtype, seed=sum(shape))
    blocks = run_final(name, img, params, geometry)
    assert ran, "the block rule did not run"
    monkeypatch.setattr(module, "tiling", lambda work, footprint: None)
    np.testing.assert_array_equal(blocks, run_final(name, img, params, geometry))


@pytest.mark.parametrize("params,shape,geometry", [({}, (21, 17, 3), dict(k=4)),
                                                    ({}, (19, 26, 3), dict(out_shape=(5, 7))),
                                                    (dict(linear=True), (21, 17, 1), dict(k=3, stride=2))], ids=str)
def test_softpool_constant_table_equals_the_table_passed_in(monkeypatch, params, shape, geometry):
    """SoftPool at β = 1 on uint8 compiles its table in (softpool._unit_kernels): the same
    numbers as from the table passed in at run time."""
    from dpdown.methods import softpool

    img = random_image(shape, np.uint8, seed=sum(shape))
    constant = run_final("softpool", img, params, geometry)
    assert any(separable.variants for _, separable in softpool._UNIT.values())
    monkeypatch.setattr(softpool, "_unit_kernels", lambda work: (softpool._BOUNDED, softpool._BOUNDED))
    np.testing.assert_array_equal(constant, run_final("softpool", img, params, geometry))


def _windows(img, k):
    h, w, c = img.shape
    return img[:h // k * k, :w // k * k].reshape(h // k, k, w // k, k, c).transpose(0, 2, 4, 1, 3).reshape(
        h // k, w // k, c, k * k)


def _approaches(variant, target, seed):
    """α = 0: the error to ``target`` shrinks as λ grows and is small at λ = 100.

    Only windows whose winning deviation from the mean beats the runner-up by 15 % are
    compared: where two pixels deviate almost equally the limit is reached very slowly.
    """
    img = random_image((24, 18, 3), np.float64, seed=seed)
    win = _windows(img, 3)
    dev = win - win.mean(-1, keepdims=True)
    dev = np.sort(np.abs(dev) if variant == "sym" else dev, -1)
    clear = dev[..., -1] > 1.15 * np.maximum(dev[..., -2], 0)
    assert clear.mean() > 0.3
    errors = [np.abs(run_method("dpp", img, dict(alpha=0.0, lam=lam, variant=variant), dict(k=3))
                     - target(win))[clear].max() for lam in (5.0, 20.0, 100.0)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 2e-3


def test_dpp_asym_alpha_zero_large_lambda_is_max():
    _approaches("asym", lambda win: win.max(-1), seed=7)


def test_dpp_sym_alpha_zero_large_lambda_is_extremum():
    def extremum(win):
        far = np.abs(win - win.mean(-1, keepdims=True)).argmax(-1)
        return np.take_along_axis(win, far[..., None], -1)[..., 0]
    _approaches("sym", extremum, seed=8)


@pytest.mark.parametrize("geometry", [dict(k=4), dict(k=3, stride=2), dict(out_shape=(9, 4))], ids=str)
def test_dpid_lambda_zero_is_box_filter(geometry):
    img = random_image((31, 22, 3), np.float64, seed=9)
    np.testing.assert_allclose(run_method("dpid", img, dict(lam=0.0), geometry),
                               run_method("avg", img, {}, geometry), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("geometry", [dict(k=2), dict(k=3), dict(out_shape=(31, 40))], ids=str)
@pytest.mark.parametrize("method,params", [("dpid", dict(lam=0.0)), ("dpp", dict(lam=0.0)),
                                           ("dpp", dict(lam=0.0, alpha=0.0, variant="asym", guide="full"))], ids=str)
def test_lambda_zero_rounds_as_average_pooling(method, params, geometry, dtype):
    """DPID and DPP with λ = 0 are average pooling: bit for bit, .5 ties of integer images
    included (a real photo at k = 2 has many), not just within float rounding."""
    img = photo_crop("flower.png", box=(200, 150, 93, 81))
    img = img.astype(dtype) * 257 if dtype == np.uint16 else img if dtype == np.uint8 else (img / 255).astype(dtype)
    np.testing.assert_array_equal(run_final(method, img, params, geometry), run_final("avg", img, {}, geometry))


def test_dpid_sum_of_weights_zero_gives_guidance():
    img = np.full((8, 8, 3), 0.25)
    out = run_method("dpid", img, dict(lam=1.0), dict(k=4))
    np.testing.assert_array_equal(out, 0.25)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method,params", [("avg", {}), ("dpid", {}), ("dpid", dict(lam=0.5)), ("dpp", {}),
                                           ("dpp", dict(variant="asym", guide="full"))])
@pytest.mark.parametrize("geometry", [dict(k=3), dict(shape=(5, 4)), dict(scale=0.37)], ids=str)
def test_constant_image_stays_constant(dtype, method, params, geometry):
    value = np.array(0.4 if np.dtype(dtype).kind == "f" else 100).astype(dtype)
    img = np.full((17, 13, 3), value, dtype=dtype)
    out = dpdown.downscale(img, method=method, **geometry, **params)
    assert out.dtype == img.dtype
    if img.dtype.kind == "u":
        np.testing.assert_array_equal(out, value)
    else:
        np.testing.assert_allclose(out, value, rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("first", ["dpdown.methods.dpp", "dpdown.methods.s3pool",
                                   "dpdown.methods.mixed, dpdown.methods.lp, dpdown.methods.softpool, "
                                   "dpdown.methods.stochastic"])
def test_every_method_is_known_however_the_modules_were_first_imported(first):
    """Modules register one or two methods each, and some import others: loading goes by module,
    so no import order leaves a method out or changes the listing."""
    import subprocess
    import sys

    listing = "from dpdown.methods import registry; print(' '.join(registry.methods()))"
    fresh = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, check=True).stdout
    after = subprocess.run([sys.executable, "-c", f"import {first}; {listing}"], capture_output=True, text=True,
                           check=True).stdout
    assert after == fresh and {"dpid", "ordinal", "learned"} <= set(fresh.split())


@pytest.mark.parametrize("factor,beta,bounded", [(1.0, 1.0, True), (1.0, -50.0, True), (1000.0, 1.0, False),
                                                 (-1000.0, 1.0, False), (1.0, 800.0, False)], ids=str)
def test_softpool_on_floats_without_a_running_maximum_where_bounded(factor, beta, bounded):
    """Float images whose |βx| stays within float64's exponent take the separable sums (one
    e^(βx) per value); others the running-maximum walker. Both are the naive twin's numbers."""
    from dpdown.core.working import to_working
    from dpdown.kernels import footprints
    from dpdown.methods import softpool

    img = (random_image((19, 23, 3), np.float64, seed=3) * factor).astype(np.float32)
    work = to_working(img, False)
    assert softpool._bounded(work, footprints.window(work.shape, 3), beta) == bounded
    out = dpdown.downscale(img, 3, method="softpool", beta=beta)
    np.testing.assert_allclose(out, naive.softpool(img.astype(np.float64), beta, k=3), rtol=1e-6, atol=1e-6 * abs(factor))


def test_softpool_on_floats_with_nan_takes_the_running_maximum():
    from dpdown.core.working import to_working
    from dpdown.kernels import footprints
    from dpdown.methods import softpool

    img = random_image((8, 8, 3), np.float32, seed=1)
    img[2, 3, 1] = np.nan
    work = to_working(img, False)
    assert not softpool._bounded(work, footprints.window(work.shape, 2), 1.0)
