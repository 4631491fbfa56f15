"""The pooling family: every kernel against its naive twin, and the identities."""

import numpy as np
import pytest

import dpdown
from dpdown.errors import ParameterError

import naive
from conftest import FAMILY, FAMILY_IDS, assert_output_close, photo_crop, random_image, run_final, run_method

GEOMETRIES = [
    ((16, 12, 3), dict(k=2)),
    ((29, 31, 3), dict(k=3)),
    ((23, 17, 1), dict(k=4, stride=3)),
    ((13, 11, 1), dict(k=3, stride=1)),
    ((1, 1, 3), dict(k=1)),
    ((7, 7, 3), dict(out_shape=(3, 3))),
    ((100, 9, 1), dict(out_shape=(33, 4))),
    ((19, 26, 5), dict(out_shape=(5, 7))),
]


@pytest.mark.parametrize("name,params,twin", FAMILY, ids=FAMILY_IDS)
@pytest.mark.parametrize("shape,geometry", GEOMETRIES, ids=str)
def test_family_equals_naive(name, params, twin, shape, geometry):
    img = random_image(shape, np.float64, seed=sum(shape))
    np.testing.assert_allclose(run_method(name, img, params, geometry), twin(img, geometry), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("name,params,twin", FAMILY, ids=FAMILY_IDS)
def test_family_every_dtype_and_real_photo(name, params, twin, dtype):
    img = random_image((21, 18, 3), dtype, seed=3)
    assert_output_close(run_final(name, img, params, dict(k=4)), twin(naive.working(img), dict(k=4)), 1e-9)
    photo = photo_crop(box=(100, 100, 23, 19))
    assert_output_close(run_final(name, photo, params, dict(out_shape=(7, 9))),
                        twin(naive.working(photo), dict(out_shape=(7, 9))), 1e-9)


@pytest.mark.parametrize("shape,geometry,dtype", [
    ((29, 31, 3), dict(k=2), np.uint8), ((23, 17, 1), dict(k=3), np.uint16), ((16, 12, 3), dict(k=4), np.uint8),
    ((19, 26, 5), dict(k=2), np.uint16), ((13, 11, 3), dict(k=3, stride=2), np.uint8),
    ((30, 20, 3), dict(out_shape=(6, 5)), np.uint16)], ids=str)
@pytest.mark.parametrize("name", ["avg", "sum", "max", "min"])
def test_unsigned_output_is_exact(name, shape, geometry, dtype):
    """Avg/sum/max/min write an unsigned image's output from its integers: ties of the mean
    round half to even exactly (float64 may land either side), in whole blocks and in the
    blocks the edge cuts short alike."""
    img = random_image(shape, dtype, seed=sum(shape))
    if name == "sum":  # near the top, so that sums clip
        img = np.iinfo(dtype).max - img // 64
    out = dpdown.downscale(img, geometry.get("k"), stride=geometry.get("stride"), shape=geometry.get("out_shape"),
                           method=name, has_alpha=False)
    np.testing.assert_array_equal(out.reshape(out.shape[:2] + (-1,)), naive.integer_pool(img, name, **geometry))


@pytest.mark.parametrize("name,p,how", [("lp", 1.0, "avg"), ("pow-average", 1.0, "sum"), ("lp", 2.0, "rms"),
                                        ("pow-average", 2.0, "rss")])
def test_integer_powers_are_exact(name, p, how):
    """Lp and power-average at p = 1 and 2 add an integer image's values or their squares as
    integers where every coverage is 1, and write the output from them: the rounded mean, the
    clipped sum, the root of their mean or sum rounded half to even. uint16 squares
    overflow 32 bits: there the float path, within its rounding."""
    img = random_image((23, 19, 3), np.uint8, seed=int(p)) // 3  # sums of squares both below and past the top
    for geometry in (dict(k=2), dict(k=3, stride=2)):
        np.testing.assert_array_equal(run_final(name, img, dict(p=p), geometry),
                                      naive.integer_pool(img, how, **geometry))
    wide = random_image((23, 19, 3), np.uint16, seed=int(p))
    twin = naive.lp if name == "lp" else naive.pow_average
    assert_output_close(run_final(name, wide, dict(p=p), dict(k=2)), twin(naive.working(wide), p, k=2), 1e-9)


BLOCK_CASES = [  # one per path through the block loop: (method, parameters, k, dtype, twin)
    ("avg", {}, 3, np.uint8, "avg"),        # EXACT integer sum, odd count
    ("sum", {}, 2, np.uint16, "sum"),       # EXACT integer sum, clipped
    ("max", {}, 2, np.uint8, "max"),        # EXACT winner
    ("lp", dict(p=2.0), 2, np.uint8, "rms"),  # EXACT integer sum of squares, rooted
    ("max", {}, 2, np.float64, lambda im, k: naive.maximum(im, k=k)),  # RAW winner, decoded
    ("avg", {}, 4, np.float64, lambda im, k: naive.box(im, k=k)),      # SCALAR: one float sum
    ("max", dict(channel_pool="avg", channel_size=3), 2, np.uint8,
     lambda im, k: naive.maximum(naive.channel_pool(im, "avg", 3), k=k)),  # SCALAR: a float maximum
    ("softpool", {}, 3, np.uint8, lambda im, k: naive.softpool(im, 1.0, k=k)),  # SCALAR, WEIGHTED: one lookup in a constant table
    ("softpool", {}, 2, np.uint8, lambda im, k: naive.softpool(im, 1.0, k=k)),  # the block rule, a constant table
    ("ordinal", dict(pool_range=3, weights=(1.0, 0.5, -1.0)), 2, np.uint8,
     lambda im, k: naive.ordinal(im, 3, (1.0, 0.5, -1.0), k=k)),     # RAW top-r
    ("ordinal", dict(weights=(0.3, -0.2)), 3, np.uint16,
     lambda im, k: naive.ordinal(im, 2, (0.3, -0.2), k=k)),          # PAIR: r = 2 as scalars
    ("ordinal", dict(pool_range=1), 2, np.float32, lambda im, k: naive.maximum(im, k=k)),  # PAIR, r = 1
    ("dpp", {}, 3, np.float64, lambda im, k: naive.dpp(im, k=k)),    # guided, SCALAR: two sums
    ("mixed", dict(mix=0.3), 3, np.uint8, lambda im, k: naive.mixed(im, 0.3, k=k)),  # SCALAR: a max and a sum
    ("dpp", {}, 2, np.uint8, lambda im, k: naive.dpp(im, k=k)),      # the block rule (walkers.block)
]


@pytest.mark.parametrize("name,params,k,dtype,twin", BLOCK_CASES,
                         ids=[f"{c[0]}-{c[2]}-{np.dtype(c[3]).name}" + "".join(f"-{p}" for p in c[1]) for c in BLOCK_CASES])
def test_block_sizes_compiled_in(monkeypatch, name, params, k, dtype, twin):
    """The suite compiles no block size into the separable walker (conftest): every footprint
    takes the loop sized at run time. Here the size is compiled in (``BOX``), as by default
    for k = 2, 3, 4, and each path through it gives what the naive twin gives: exactly, for
    the paths that write an unsigned output from its integers."""
    from dpdown.kernels import footprints
    from dpdown.kernels.walkers import shared
    monkeypatch.setattr(shared, "COMPILED_BLOCKS", frozenset({k}))
    img = random_image((3 * k + 1, 4 * k + 1, 3), dtype, seed=k)  # the edge cuts the last blocks short
    assert shared.block_sizes(footprints.window(img.shape[:2], k), "cpu")[1] == k
    out = run_final(name, img, params, dict(k=k))
    if isinstance(twin, str):
        np.testing.assert_array_equal(out, naive.integer_pool(img, twin, k=k))
    else:
        assert_output_close(out, twin(naive.working(img), k), 1e-6 if name == "dpp" else 1e-9)  # as test_methods


@pytest.mark.parametrize("name,params", [("avg", {}), ("max", {}), ("dpid", {})], ids=str)
def test_block_size_compiled_in_with_alpha(monkeypatch, name, params):
    """With alpha the walkers compile in k = 2 only (shared.COMPILED_BLOCKS_WITH_ALPHA): the
    block path, colour premultiplied and divided again as it is stored, gives the numbers of
    the loop sized at run time, bit for bit."""
    from dpdown.kernels import footprints
    from dpdown.kernels.walkers import shared

    img = random_image((11, 13, 4), np.uint8, seed=7)  # the edge cuts the last blocks short
    monkeypatch.setattr(shared, "COMPILED_BLOCKS", frozenset({2, 3}))
    window = footprints.window(img.shape[:2], 2)
    assert shared.block_sizes(window, "cpu", alpha=True) == (2, 2)
    assert shared.block_sizes(footprints.window(img.shape[:2], 3), "cpu", alpha=True) == (0, 0)
    blocks = dpdown.downscale(img, 2, method=name, **params)
    monkeypatch.setattr(shared, "COMPILED_BLOCKS", frozenset())
    assert shared.block_sizes(window, "cpu", alpha=True) == (0, 0)
    np.testing.assert_array_equal(blocks, dpdown.downscale(img, 2, method=name, **params))


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_no_window_starts_past_the_edge(dtype):
    """Stride > k: the usual ceil((W − k) / s) + 1 counts, at width 10, k = 2, s = 5, a
    third window starting at 10, with no pixel to pool; like PyTorch's ceil mode, dpdown
    does not make it (the height, 12, keeps its window at row 10)."""
    img = random_image((12, 10, 3), dtype, seed=10)
    for name, twin in (("avg", naive.box), ("sum", naive.total), ("max", naive.maximum)):
        out = run_final(name, img, {}, dict(k=2, stride=5))
        assert out.shape == (3, 2, 3)
        assert_output_close(out, twin(naive.working(img), k=2, stride=5), 1e-9)


def test_ties_round_half_to_even():
    img = np.array([[1, 2, 3, 4, 5, 6, 7, 8]], np.uint8)  # pairs average to 1.5, 3.5, 5.5, 7.5
    assert dpdown.downscale(np.repeat(img, 2, 0), 2, method="avg").tolist() == [[2, 4, 6, 8]]
    img = np.array([[0, 1, 2, 3, 4, 5, 6, 7]], np.uint8)  # 0.5, 2.5, 4.5, 6.5
    assert dpdown.downscale(np.repeat(img, 2, 0), 2, method="avg").tolist() == [[0, 2, 4, 6]]
    img = np.array([[1, 2, 1, 4], [2, 4, 4, 4]], np.uint8)  # Lp, p = 2: √(25 / 4) = 2.5, √(49 / 4) = 3.5
    assert dpdown.downscale(img, 2, method="lp", p=2.0).tolist() == [[2, 4]]


@pytest.mark.parametrize("shape,k", [((24, 18, 3), 2), ((31, 29, 3), 3), ((13, 40, 1), 4)])
def test_gated_equals_naive(shape, k):
    img = random_image(shape, np.float64, seed=k)
    mask = tuple(np.linspace(-2, 3, k * k))
    np.testing.assert_allclose(run_method("gated", img, dict(gate_weights=mask), dict(k=k)),
                               naive.gated(img, k, mask), atol=1e-12)
    np.testing.assert_allclose(run_method("gated", img, {}, dict(k=k)), naive.mixed(img, 0.5, k=k), atol=1e-12)


@pytest.mark.parametrize("shape,k,grid,seed", [((24, 18, 3), 2, 4, 0), ((31, 29, 3), 3, 6, 5),
                                                ((17, 40, 1), 4, 8, 2), ((9, 9, 3), 3, 9, 1)])
def test_s3pool_equals_naive_and_has_the_expected_size(shape, k, grid, seed):
    img = random_image(shape, np.float64, seed=seed)
    out = run_method("s3pool", img, dict(grid=grid, seed=seed), dict(k=k))
    assert out.shape[:2] == (-(-shape[0] // k), -(-shape[1] // k))
    np.testing.assert_array_equal(out, naive.s3pool(img, k, grid, seed))


def test_s3dpp_is_dpp_over_the_sampled_windows():
    img = random_image((20, 22, 3), np.float64, seed=4)
    out = run_method("s3dpp", img, dict(grid=4, seed=3, variant="asym"), dict(k=2))
    rows, cols = naive.s3_rows(20, 2, 4, 3, 0), naive.s3_rows(22, 2, 4, 3, 1)
    # the window at each kept (row, column), clipped at the edge, as one whole footprint
    expected = np.array([[naive.dpp(img[r:r + 2, c:c + 2], variant="asym", out_shape=(1, 1))[0, 0]
                          for c in cols] for r in rows])
    np.testing.assert_allclose(out, expected, atol=1e-9)


def test_counter_based_uniform_matches_python_integers():
    from dpdown.kernels.rng import uniform, uniform_array
    for key in [(0, 0, 0, 0), (1, 2, 3, 4), (123456789, 4000, 6000, 2)]:
        assert uniform(*key) == naive.uniform(*key)
        assert uniform_array(key[0], key[1], key[2], [key[3]])[0] == naive.uniform(*key)


# ---- identities -------------------------------------------------------------------------

IMG = random_image((24, 18, 3), np.float64, seed=12)


def close(a, b, atol=1e-9):
    np.testing.assert_allclose(a, b, atol=atol)


@pytest.mark.parametrize("geometry", [dict(k=3), dict(k=2, stride=1), dict(out_shape=(7, 5))], ids=str)
def test_identities(geometry):
    avg, mx = run_method("avg", IMG, {}, geometry), run_method("max", IMG, {}, geometry)
    close(run_method("softpool", IMG, dict(beta=1e-9), geometry), avg, 1e-8)
    close(run_method("softpool", IMG, dict(beta=1000.0), geometry), mx, 5e-3)
    close(run_method("lp", IMG, dict(p=1.0), geometry), avg)
    close(run_method("mixed", IMG, dict(mix=0.0), geometry), avg)
    close(run_method("mixed", IMG, dict(mix=1.0), geometry), mx)
    close(run_method("ordinal", IMG, dict(pool_range=1), geometry), mx)
    close(run_method("lip", IMG, dict(beta=0.0), geometry), avg)
    close(-run_method("max", -IMG, {}, geometry), run_method("min", IMG, {}, geometry))


@pytest.mark.parametrize("k", [2, 3])
def test_ordinal_uniform_weights_over_the_whole_window_is_avg(k):
    close(run_method("ordinal", IMG, dict(pool_range=k * k), dict(k=k)), run_method("avg", IMG, {}, dict(k=k)))


def test_lp_large_p_approaches_max():
    mx = run_method("max", IMG, {}, dict(k=3))
    assert np.abs(run_method("lp", IMG, dict(p=100.0), dict(k=3)) - mx).max() < 0.03


@pytest.mark.parametrize("method,params", [("max", {}), ("min", {}), ("sum", {}), ("softpool", {}),
                                           ("lp", {}), ("pow-average", dict(p=1.0)), ("mixed", {}),
                                           ("gated", {}), ("stochastic", {}), ("stochastic", dict(mode="weighted")),
                                           ("ordinal", {}), ("lip", {}), ("s3pool", {}), ("s3dpp", {})])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_constant_image_stays_constant(method, params, dtype):
    value = 60 if dtype == np.uint8 else 0.25
    img = np.full((17, 13, 3), value, dtype=dtype)
    out = dpdown.downscale(img, 3, method=method, **params)
    expected = {"sum": value * 9, "pow-average": value * 9}.get(method, value)
    if dtype == np.uint8:
        expected = min(expected, 255)
    np.testing.assert_allclose(out[1:-1, 1:-1], expected, rtol=1e-6)  # sums: edge windows are clipped
    assert out.dtype == img.dtype


# ---- stochastic: reproducible everywhere, and the right distribution ----------------------

def test_stochastic_sample_frequencies_follow_the_values():
    window = np.array([[0.1, 0.2], [0.3, 0.4]])
    img = np.tile(window, (100, 100))[:, :, None]  # 10 000 identical 2×2 windows, distinct positions
    picks = run_method("stochastic", img, dict(seed=7), dict(k=2)).ravel()
    freq = np.array([(picks == v).mean() for v in window.ravel()])
    np.testing.assert_allclose(freq, window.ravel() / window.sum(), atol=0.015)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_stochastic_rejects_negative_and_non_finite_values(bad):
    img = np.ones((4, 4))
    img[1, 2] = bad
    with pytest.raises(ParameterError, match="finite, non-negative"):
        dpdown.downscale(img, 2, method="stochastic")


# ---- channel pooling --------------------------------------------------------------------

# every channel pooling with avg; every other method with one pooling (each pair is a compile)
@pytest.mark.parametrize("mode,size,channels,method,params,twin", [
    ("max", 3, 3, "avg", {}, lambda im, g: naive.box(im, **g)),
    ("min", 2, 4, "avg", {}, lambda im, g: naive.box(im, **g)),
    ("avg", 2, 6, "avg", {}, lambda im, g: naive.box(im, **g)),
    ("topk", 2, 5, "avg", {}, lambda im, g: naive.box(im, **g)),
    ("topk", 1, 3, "avg", {}, lambda im, g: naive.box(im, **g)),
    ("avg", 2, 6, "dpp", {}, lambda im, g: naive.dpp(im, **g)),
    ("max", 1, 3, "dpp", dict(guide="full"), lambda im, g: naive.dpp(im, guide="full", **g)),
    ("topk", 2, 5, "softpool", {}, lambda im, g: naive.softpool(im, **g)),
    ("min", 2, 4, "max", {}, lambda im, g: naive.maximum(im, **g)),
    ("max", 2, 4, "softpool", dict(beta=3.0), lambda im, g: naive.softpool(im, 3.0, **g)),
], ids=["max-avg", "min-avg", "avg-avg", "topk-avg", "top1-avg", "avg-dpp", "max-dppfull", "topk-softpool",
        "min-max", "max-softpool-uint8"])
def test_channel_pooling_then_method(mode, size, channels, method, params, twin):
    dtype = np.uint8 if method == "softpool" and mode == "max" else np.float64
    img = naive.working(random_image((14, 11, channels), dtype, seed=channels)) if dtype == np.float64 else \
        random_image((14, 11, channels), dtype, seed=channels)
    out = run_channel_pooled(img, method, params, mode, size)
    expected = twin(naive.channel_pool(naive.working(img), mode, size), dict(k=3))
    np.testing.assert_allclose(out, expected, atol=1e-9)


def run_channel_pooled(img, method, params, mode, size):
    """Working values out (no rounding), channel-pooled, k = 3."""
    from dpdown.core.working import to_working
    from dpdown.kernels import footprints
    from dpdown.methods import registry
    work = to_working(img, False, mode, size)
    spec = registry.get(method)
    return spec.run(work, footprints.window(work.shape, 3), **spec.resolve(params))


def test_channel_max_over_rgb_is_hsv_value():
    from skimage.color import rgb2hsv
    img = photo_crop()
    value = dpdown.downscale(img, 1, method="avg", channel_pool="max", channel_size=3)
    assert value.shape == img.shape[:2]
    np.testing.assert_allclose(value / 255.0, rgb2hsv(img)[:, :, 2], atol=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    (dict(channel_pool="max", channel_size=2), "divide"),
    (dict(channel_pool="topk", channel_size=4), "keeps 1 to 3"),
    (dict(channel_pool="median"), "unknown channel pooling"),
    (dict(method="gated", gate_weights=(1.0, 2.0)), "k×k = 4"),
    (dict(method="ordinal", pool_range=3, weights=(1.0,)), "3 numbers"),
    (dict(method="s3pool", grid=3), "multiple of k"),
    (dict(method="s3pool", stride=1), "use -k alone"),
])
def test_family_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        dpdown.downscale(random_image((12, 12, 3), np.uint8), 2, **kwargs)


@pytest.mark.parametrize("method", ["gated", "s3pool"])
def test_window_only_methods_refuse_a_size(method):
    with pytest.raises(ParameterError):
        dpdown.downscale(random_image((12, 12, 3), np.uint8), shape=(5, 5), method=method)
