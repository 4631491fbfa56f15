"""A kernel's compile-time choices, from the one pure function that makes them (walkers.separable.separable_plan).

What each choice does to the numbers is tested against the naive twins elsewhere; here, that
the plan chooses what the walker's comments say it does, for the cases that select each path.
"""

import numpy as np

from dpdown.core.working import to_working
from dpdown.kernels import footprints
from dpdown.kernels.walkers import separable, shared
from dpdown.methods import avg, dpp, extrema, lp, ordinal, softpool


def plan(kernel, img, final=True, params=(), blocks=frozenset({2, 3, 4}), alpha=False, **geometry):
    work = to_working(img, alpha)
    footprint = footprints.plan(work.shape, **geometry)
    real = shared.COMPILED_BLOCKS
    shared.COMPILED_BLOCKS = blocks
    try:
        return separable.separable_plan(kernel, work, "cpu", np.asarray(params, float), footprint, final)
    finally:
        shared.COMPILED_BLOCKS = real


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


def test_images_with_alpha_compile_in_only_the_blocks_that_pay():
    rgba = np.zeros((12, 12, 4), np.uint8)
    assert plan(avg._kernel, rgba, k=2, alpha=True).box_cols == 2
    assert [plan(avg._kernel, rgba, k=k, alpha=True).box_cols for k in (3, 4)] == [0, 0]
    assert plan(avg._kernel, rgba, k=3, alpha=True) == plan(avg._kernel, rgba, k=5, alpha=True)  # one variant
    assert plan(avg._kernel, rgba, k=3).box_cols == 3  # four bands, no alpha
    # rules whose block loops bought nothing with alpha compile in none: one variant for every k
    assert plan(ordinal._KERNEL, rgba, k=2, alpha=True, params=(2.0,)).box_cols == 0
    assert plan(ordinal._KERNEL, rgba, k=2, params=(2.0,)).box_cols == 2
    assert plan(softpool._BOUNDED, rgba, k=2, alpha=True, params=(1.0,)).box_cols == 0


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


def test_weighted_rules_make_each_weight_once_for_plain_pixels():
    # SoftPool's e^βx and DPP's α + ρ(x − g) are each the weight w of terms w·x and w
    assert plan(softpool._BOUNDED, RGB8, k=2, params=(1.0,)).weighted  # looked up
    assert plan(softpool._BOUNDED, RGBF, k=2, params=(1.0,)).weighted  # computed
    assert plan(dpp._SEPARABLE[1.0], RGB8, k=3, params=(1.0, 1.0, 0.0)).weighted
    rgba = np.zeros((12, 12, 4), np.uint8)  # pixels loaded one by one: no such path
    assert not plan(softpool._BOUNDED, rgba, k=2, alpha=True, params=(1.0,)).weighted
    assert not plan(avg._kernel, RGB8, k=2).weighted


def test_constants_are_the_fields_in_capitals():
    p = plan(avg._kernel, RGB8, k=2)
    assert p.constants()["INT_SUM"] == 1 and "PRELOAD_ROWS" not in p.constants()


def test_every_plan_binds_only_declared_names():
    """Each constant a plan binds is declared in kernels/rules.py, where a reader looks for it."""
    from dpdown.kernels import rules
    from dpdown.methods import dpid, dpp

    work = to_working(RGB8, False)
    fp = footprints.plan(work.shape, k=2)
    kernels = [avg._kernel, ordinal._KERNEL, softpool._BOUNDED, dpid.for_lambda(dpid._KERNELS, 1.0),
               dpp.for_lambda(dpp._LITE, 1.0)]
    for kernel in kernels:
        for target in kernel.targets:
            plan = with_blocks(lambda: kernel.plan(work, target, fp, np.asarray((2.0, 1.0, 0.0)), True))
            undeclared = [n for n in plan.constants() if not hasattr(rules, n)]
            assert not undeclared, (kernel.name, target, undeclared)


def test_the_footprint_walker_has_one_cpu_variant_for_every_k_and_sizes_its_cuda_arrays():
    from dpdown.kernels.walkers.footprint import footprint_plan
    from dpdown.methods import dpid

    kernel = dpid.for_lambda(dpid._KERNELS, 1.0)
    work = to_working(RGB8, False)
    params = np.asarray((1.0,))
    cpu = {footprint_plan(kernel, work, "cpu", footprints.plan(work.shape, k=k), params) for k in (2, 3, 5)}
    assert len(cpu) == 1 and next(iter(cpu)).acc_width is None
    gpu = footprint_plan(kernel, work, "cuda", footprints.plan(work.shape, k=3), params)
    assert gpu.acc_width == kernel.rule["acc_width"](3, params) and gpu.preload_cols >= 1


def test_the_block_walker_sums_integers_only_where_values_decode_linearly():
    from dpdown.kernels.walkers.block import block_plan

    def block(img, **options):
        work = to_working(img, False, **options)
        return with_blocks(lambda: block_plan(work, footprints.plan(work.shape, k=2)))

    assert (block(RGB8).integer, block(RGB8).sum_type, block(RGB8).box_rows) == (True, np.int64, 2)
    assert not block(RGBF).integer and block(RGBF).sum_type is np.float64
    assert not block(RGB8, linear=True).integer  # sRGB decoded by a table: float sums


def with_blocks(make, blocks=frozenset({2, 3, 4})):
    real = shared.COMPILED_BLOCKS
    shared.COMPILED_BLOCKS = blocks
    try:
        return make()
    finally:
        shared.COMPILED_BLOCKS = real
