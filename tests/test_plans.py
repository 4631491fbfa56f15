"""A kernel's compile-time choices, from the one pure function that makes them (walk.separable_plan).

What each choice does to the numbers is tested against the naive twins elsewhere; here, that
the plan chooses what the walker's comments say it does, for the cases that select each path.
"""

import numpy as np

from dpdown.core.working import to_working
from dpdown.kernels import footprints, walk
from dpdown.methods import avg, extrema, lp, ordinal, softpool


def plan(kernel, img, final=True, params=(), blocks=frozenset({2, 3, 4}), **geometry):
    work = to_working(img, False)
    footprint = footprints.plan(work.shape, **geometry)
    real = walk.COMPILED_BLOCKS
    walk.COMPILED_BLOCKS = blocks
    try:
        return walk.separable_plan(kernel, work, "cpu", np.asarray(params, float), footprint, final)
    finally:
        walk.COMPILED_BLOCKS = real


RGB8 = np.zeros((12, 12, 3), np.uint8)
RGBF = np.zeros((12, 12, 3), np.float32)


def test_avg_on_uint8_adds_integers_and_writes_them_exactly():
    p = plan(avg._kernel, RGB8, k=2)
    assert (p.int_sum, p.exact, p.sum_type, p.box_rows, p.box_cols) == (1, True, np.uint16, 2, 2)
    assert not p.exact == plan(avg._kernel, RGB8, final=False, k=2).exact  # an internal pass keeps floats
    assert plan(avg._kernel, RGB8, k=5).box_cols == 0  # a size not compiled in: read at run time


def test_float_images_sum_floats_finished_from_scalars():
    p = plan(avg._kernel, RGBF, k=2)
    assert (p.int_sum, p.exact, p.scalar, p.raw) == (0, False, True, False)


def test_coverage_footprints_have_no_block_and_no_integer_sum():
    p = plan(avg._kernel, RGB8, out_shape=(5, 5))
    assert (p.box_rows, p.box_cols, p.int_sum, p.exact) == (0, 0, 0, False)


def test_extrema_rank_the_stored_values():
    p = plan(extrema._KERNELS["max"], RGBF, k=3)
    assert (p.raw, p.raw_slots, p.int_sum) == (True, 1, 0)


def test_squares_sum_as_integers_for_p_2():
    assert plan(lp._KERNELS["lp"][2.0], RGB8, k=2, params=(2.0,)).int_sum == 2
    assert plan(lp._KERNELS["lp"][None], RGB8, k=2, params=(2.5,)).int_sum == 0  # a pow: looked up instead


def test_ordinal_top_two_merges_pairs_in_whole_blocks():
    p = plan(ordinal._KERNEL, RGB8, k=2, params=(2.0,))
    assert (p.top_r, p.sums, p.raw, p.pair) == (2, 4, True, True)
    assert not plan(ordinal._KERNEL, RGB8, k=2, params=(3.0,)).pair  # r = 3: slots, not pairs


def test_softpool_looks_terms_up_on_integer_images_only():
    assert plan(softpool._BOUNDED, RGB8, k=2, params=(1.0,)).use_lut
    assert not plan(softpool._BOUNDED, RGBF, k=2, params=(1.0,)).use_lut


def test_constants_are_the_fields_in_capitals():
    p = plan(avg._kernel, RGB8, k=2)
    assert p.constants()["INT_SUM"] == 1 and "PRELOAD_ROWS" not in p.constants()
