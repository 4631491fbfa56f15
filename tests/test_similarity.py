"""The evaluation's fast SSIM, PSNR and resampling against their references: scikit-image,
Pillow, the naive twins (MATLAB's imresize, BT.601 luma); the CUDA twins under the simulator."""

import math
import os

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dpdown.errors import ParameterError
from dpdown.evaluation import evaluate, resampling, similarity
from dpdown.kernels import resample

import naive
from conftest import SAMPLES, photo_crop

SHAPES = [(11, 11, 1), (23, 17, 3), (40, 29, 1), (64, 48, 3)]


def pair(shape, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    x = rng.random(shape, dtype=np.float32)
    return x, np.clip(x + rng.normal(0, noise, shape).astype(np.float32), 0, 1)


def photo_pair():
    x = photo_crop(box=(300, 200, 97, 71)).astype(np.float32) / 255
    rng = np.random.default_rng(3)
    return x, np.clip(x + rng.normal(0, 0.02, x.shape).astype(np.float32), 0, 1)


def skimage_scores(x, y, border=0):
    """scikit-image's SSIM and PSNR, computed in float64 (on float32 input it computes in
    float32, off by up to ~1e-6 on large images; dpdown's sums keep within 1e-7)."""
    inside = (slice(border, x.shape[0] - border), slice(border, x.shape[1] - border))
    x, y = x[inside].astype(np.float64), y[inside].astype(np.float64)
    ssim = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 K1=0.01, K2=0.03, data_range=1.0, channel_axis=2)
    return float(ssim), float(peak_signal_noise_ratio(x, y, data_range=1.0))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("border", [0, 3])
def test_ssim_and_psnr_equal_scikit_image(shape, border):
    if min(shape[:2]) - 2 * border < similarity.WINDOW:
        border = 0
    x, y = pair(shape)
    ssim, psnr = similarity.score(similarity.prepare(x, border), y)
    expected_ssim, expected_psnr = skimage_scores(x, y, border)
    assert abs(ssim - expected_ssim) < 1e-7
    assert abs(psnr - expected_psnr) < 1e-7


def test_on_a_real_photo_and_against_the_naive_formula():
    x, y = photo_pair()
    ssim, psnr = evaluate.compare(x, y)
    assert abs(ssim - skimage_scores(x, y)[0]) < 1e-7 and abs(psnr - skimage_scores(x, y)[1]) < 1e-7
    # the candidate's window sums are float32 (of y − x): within 1e-8 of the float64 formula here
    assert ssim == pytest.approx(naive.ssim(x, y), abs=1e-8)


def _hard_pairs():
    """Pairs where float32 sums would lose most: tiny differences on flat or bright areas,
    opposite images, an image against zero, a photo against a noisy copy just above
    FLOAT32_PSNR and against saturated copies (far from it everywhere, with little variance:
    sum pooling's output)."""
    rng = np.random.default_rng(0)
    shape = (60, 53, 3)
    flat = np.full(shape, 0.9, np.float32)
    bright = (rng.random(shape) * 1e-3 + 0.95).astype(np.float32)
    ramp = np.broadcast_to(np.linspace(0, 1, shape[1], dtype=np.float32)[None, :, None], shape).copy()
    noise = rng.random(shape).astype(np.float32)
    photo = photo_pair()[0]
    return {"flat + 1e-3 noise": (flat, (flat + rng.normal(0, 1e-3, shape)).astype(np.float32)),
            "bright texture + 1e-4": (bright, bright + np.float32(1e-4)),
            "ramp + 0.01": (ramp, np.clip(ramp + 0.01, 0, 1)),
            "noise + 1e-4 noise": (noise, np.clip(noise + rng.normal(0, 1e-4, shape), 0, 1).astype(np.float32)),
            "noise against 1 − noise": (noise, 1 - noise),
            "noise against 0": (noise, np.zeros_like(noise)),
            "photo against it + noise of σ 0.15 (16 dB)": (photo, photo + rng.normal(0, 0.15, photo.shape).astype(np.float32)),
            "photo against white": (photo, np.ones_like(photo)),
            "photo against its saturated double": (photo, np.minimum(2 * photo + 0.3, 1)),
            "photo against 9 × it (unclipped sum pooling)": (photo, 9 * photo)}


def _float32_ssim(x, y):
    """SSIM of ``y`` against ``x`` with the candidate's window sums in float32, whatever the PSNR."""
    from dpdown.kernels import bands
    from dpdown.kernels import similarity as kernels

    reference = similarity.prepare(x)
    sums = np.empty(reference.scored[0])
    bands.run(kernels.ssim_rows, len(sums), reference.pixels, y, reference.mean, reference.variance, 0, 0, 0,
              similarity.C1, similarity.C2, sums)
    return math.fsum(sums) / np.prod(reference.scored)


@pytest.mark.parametrize("case", list(_hard_pairs()))
def test_scores_keep_within_1e7_where_float32_is_hardest(case):
    x, y = _hard_pairs()[case]
    expected = skimage_scores(x, y)[0]
    assert abs(similarity.ssim(x, y) - expected) < 1e-7
    if similarity.psnr(x, y) >= similarity.FLOAT32_PSNR:
        assert abs(_float32_ssim(x, y) - expected) < 1e-7


@pytest.mark.parametrize("far", [False, True])
def test_a_candidate_far_from_the_reference_is_summed_in_float64(far, monkeypatch):
    from dpdown.kernels import bands
    from dpdown.kernels import similarity as kernels

    x, y = _hard_pairs()["photo against 9 × it (unclipped sum pooling)" if far else "ramp + 0.01"]
    assert (similarity.psnr(x, y) < similarity.FLOAT32_PSNR) == far
    ran, run = [], bands.run
    monkeypatch.setattr(bands, "run", lambda kernel, *args: ran.append(kernel) or run(kernel, *args))
    assert abs(similarity.ssim(x, y) - skimage_scores(x, y)[0]) < 1e-7
    assert (kernels.ssim_rows_float64 if far else kernels.ssim_rows) in ran
    assert (kernels.ssim_rows if far else kernels.ssim_rows_float64) not in ran


def test_one_reference_scores_many_candidates_as_each_alone():
    x, y = photo_pair()
    reference = similarity.prepare(x)
    for noise in (0.01, 0.05, 0.2):
        candidate = np.clip(x + np.random.default_rng(1).normal(0, noise, x.shape).astype(np.float32), 0, 1)
        assert similarity.score(reference, candidate) == evaluate.compare(x, candidate)


@pytest.mark.parametrize("border", [0, 2, 5])
def test_a_crop_scored_from_the_whole_images_statistics_as_prepared_alone(border):
    x, y = photo_pair()
    whole = similarity.prepare(x)
    for rows, cols in ((x.shape[0], x.shape[1]), (70, 96), (66, 95)):
        crop, candidate = np.ascontiguousarray(x[:rows, :cols]), np.ascontiguousarray(y[:rows, :cols])
        alone = similarity.prepare(crop, border)
        shared = similarity.crop_of(whole, crop, border)
        assert shared.origin == (border, border) and shared.scored == alone.mean.shape
        assert similarity.score(shared, candidate) == similarity.score(alone, candidate)
    with pytest.raises(ParameterError, match="does not lie in"):
        similarity.crop_of(whole, np.zeros((x.shape[0] + 1, 20, 3), np.float32))
    with pytest.raises(ParameterError, match="does not lie in"):
        similarity.crop_of(similarity.prepare(x, 1), x)


def test_identical_images_and_constant_images():
    x, _ = pair((20, 30, 3))
    assert similarity.score(similarity.prepare(x), x.copy()) == (pytest.approx(1.0, abs=1e-12), math.inf)
    constant = np.full((15, 15, 1), 0.25, np.float32)
    assert similarity.ssim(constant, constant) == pytest.approx(1.0)


def test_thread_count_does_not_change_the_result():
    from dpdown.kernels import bands

    x, y = pair((50, 41, 3))
    with bands.using(1):
        one = evaluate.compare(x, y)
    with bands.using(2):
        assert evaluate.compare(x, y) == one


def test_too_small_and_mismatched_shapes_are_clear_errors():
    with pytest.raises(ParameterError, match="SSIM needs at least 11×11"):
        similarity.prepare(np.zeros((14, 30, 3), np.float32), border=2)
    with pytest.raises(ParameterError, match="different shapes"):
        similarity.score(similarity.prepare(np.zeros((12, 12, 3), np.float32)), np.zeros((12, 13, 3), np.float32))


# ---- the Y channel -------------------------------------------------------------------------

def test_luma_is_bt601_studio_range():
    x = photo_crop().astype(np.float32) / 255
    assert np.abs(similarity.luma(x) - naive.bt601_luma(x)).max() < 1e-6
    corners = np.array([[[0, 0, 0], [1, 1, 1]]], np.float32)
    assert similarity.luma(corners)[0, :, 0] == pytest.approx([16 / 255, 235 / 255])
    with pytest.raises(ParameterError, match="RGB"):
        similarity.luma(np.zeros((4, 4, 1), np.float32))


# ---- resampling ----------------------------------------------------------------------------

def pillow_resize(pixels, shape, resample):
    out = np.empty((*shape, pixels.shape[2]), np.float32)
    for c in range(pixels.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(pixels[:, :, c]), mode="F")
        out[:, :, c] = np.asarray(plane.resize((shape[1], shape[0]), resample))
    return np.clip(out, 0, 1)


@pytest.mark.parametrize("shape,out", [((7, 9, 3), (21, 27)), ((13, 5, 1), (26, 10)), ((31, 47, 3), (62, 94)),
                                       ((30, 45, 3), (10, 15)), ((29, 17, 1), (9, 5)), ((12, 12, 3), (12, 36)),
                                       ((11, 23, 3), (55, 115)), ((10, 7, 3), (25, 17)), ((1, 2, 3), (3, 6)),
                                       ((16, 24, 1), (8, 6)), ((6, 4, 3), (3, 2)), ((20, 50, 3), (10, 25))],
                         ids=str)
def test_pillow_convention_is_pillow_bit_for_bit(shape, out):
    x = np.random.default_rng(2).random(shape, dtype=np.float32)
    resample = Image.Resampling.BICUBIC if out[0] * out[1] > shape[0] * shape[1] else Image.Resampling.LANCZOS
    if out[0] == shape[0]:
        resample = Image.Resampling.BICUBIC
    assert np.array_equal(resampling.resize(x, out, "pillow"), pillow_resize(x, out, resample))


def test_pillow_convention_on_a_real_photo():
    x = photo_crop().astype(np.float32) / 255
    small = np.ascontiguousarray(x[::3, ::3])
    assert np.array_equal(resampling.resize(small, x.shape[:2]), pillow_resize(small, x.shape[:2], Image.BICUBIC))


def test_pillow_convention_shrinks_a_whole_photo_as_pillow():
    # Lanczos ×½ sums 13 taps: the weights normalised in Pillow's order (numpy's sum pairs
    # them, 10 values of this photo 1 ulp apart)
    with Image.open(SAMPLES / "flower.png") as im:
        x = np.asarray(im.convert("RGB")).astype(np.float32) / 255
    out = (x.shape[0] // 2, x.shape[1] // 2)
    assert np.array_equal(resampling.resize(x, out), pillow_resize(x, out, Image.LANCZOS))


@pytest.mark.parametrize("shape,out", [((8, 6, 3), (24, 18)), ((9, 7, 1), (18, 14)), ((24, 18, 3), (8, 6)),
                                       ((25, 20, 1), (5, 4)), ((10, 15, 3), (30, 5)), ((2, 1, 3), (6, 3))], ids=str)
def test_matlab_convention_equals_the_naive_imresize(shape, out):
    x = np.random.default_rng(4).random(shape, dtype=np.float32)
    expected = np.clip(naive.matlab_imresize(x, out), 0, 1)
    assert np.abs(resampling.resize(x, out, "matlab") - expected).max() < 1e-6


@pytest.mark.parametrize("convention", ["pillow", "matlab"])
@pytest.mark.parametrize("n_in,n_out", [(7, 21), (23, 115), (12, 24), (10, 25), (30, 10), (5, 5 * 2), (1, 3), (2, 6),
                                        (3, 6), (40, 20), (45, 9), (6, 3), (29, 5)])
def test_packed_tables_and_column_plans_cover_every_output_once(convention, n_in, n_out):
    index, weight = resampling.taps(convention, n_in, n_out)
    packed_index, packed_weight = resample.packed(index, weight)
    assert packed_index.shape[1] % resample.GROUP == 0
    for o in range(n_out):  # the same nonzero taps, in the same order
        kept = weight[o] != 0
        assert np.array_equal(packed_weight[o][packed_weight[o] != 0], weight[o][kept])
        assert np.array_equal(packed_index[o][packed_weight[o] != 0], index[o][kept])
    assert ((packed_index >= 0) & (packed_index < n_in)).all()
    if n_out < n_in:
        plan = resample.decimation(packed_index, packed_weight, n_in, 3)
        if n_in % n_out:
            assert plan is None
            return
        offsets, values, (first, end), rest = plan
        k = n_in // n_out
        assert np.array_equal(np.sort(np.concatenate([np.arange(first, end), rest])), np.arange(n_out))
        for o in range(first, end):
            assert np.array_equal(packed_index[o], k * o + offsets)
            assert np.array_equal(values[:, 3 * o + 2], packed_weight[o])
        return
    plan = resample.phases(packed_index, packed_weight, n_in, 3)
    if n_out % n_in or n_out < 2 * n_in:
        assert plan is None
        return
    ranges, offsets, values, rest = plan
    k = n_out // n_in
    covered = np.concatenate([k * np.arange(*ranges[p]) + p for p in range(k)] + [rest])
    assert np.array_equal(np.sort(covered), np.arange(n_out))
    for p in range(k):
        for j in range(*ranges[p]):
            assert np.array_equal(packed_index[k * j + p], j + offsets[p])
            assert np.array_equal(values[p, :, 3 * j], packed_weight[k * j + p])


@pytest.mark.parametrize("convention", ["pillow", "matlab"])
def test_a_resizer_reuses_its_tables_and_buffers(convention):
    rng = np.random.default_rng(8)
    resizer = resampling.Resizer((9, 7, 3), (27, 21), convention)
    first = rng.random((9, 7, 3), dtype=np.float32)
    out = resizer(first)
    expected = resampling.resize(first, (27, 21), convention)
    assert np.array_equal(out, expected)
    second = rng.random((9, 7, 3), dtype=np.float32)
    assert resizer(second) is out and np.array_equal(out, resampling.resize(second, (27, 21), convention))
    with pytest.raises(ParameterError, match="resizer of"):
        resizer(np.zeros((9, 8, 3), np.float32))
    with pytest.raises(ParameterError, match="resizer to"):
        evaluate.candidate(first, np.zeros((30, 24, 3), np.float32), "upsample", resizer=resizer)


@pytest.mark.parametrize("convention", ["pillow", "matlab"])
def test_a_constant_image_stays_constant(convention):
    x = np.full((12, 9, 3), 0.375, np.float32)
    for out in ((36, 27), (4, 3)):
        assert np.allclose(resampling.resize(x, out, convention), 0.375, atol=1e-6)


# ---- the CUDA twins, under the simulator ---------------------------------------------------

@pytest.mark.cuda
@pytest.mark.parametrize("shape,border", [((13, 12, 1), 0), ((17, 15, 3), 2)], ids=str)
def test_cuda_scores_equal_the_cpu(shape, border):
    x, y = pair(shape, seed=5)
    cpu = similarity.score(similarity.prepare(x, border), y)
    gpu = similarity.score(similarity.prepare(x, border, "cuda"), y)
    # a candidate's float32 sums are added in another order on the GPU (the 2-D window at once)
    assert gpu == pytest.approx(cpu, abs=1e-7)
    assert abs(gpu[0] - skimage_scores(x, y, border)[0]) < 1e-7
    crop, candidate = np.ascontiguousarray(x[:-1]), np.ascontiguousarray(y[:-1])
    shared = similarity.crop_of(similarity.prepare(x, 0, "cuda"), crop, border)
    alone = similarity.score(similarity.prepare(crop, border), candidate)
    assert similarity.score(shared, candidate) == pytest.approx(alone, abs=1e-7)


@pytest.mark.cuda
def test_cuda_scores_of_candidates_far_from_the_reference():
    """Unclipped sum pooling, a saturated copy, white: the GPU's sums stay float32, shifted by
    each window's centre, on a photo (where the CPU's float32 sums drift most); under the
    simulator a 12×12 crop against 9× itself (seconds), on a GPU all three on a larger one."""
    side = 96 if os.environ.get("DPDOWN_TEST_GPU") == "1" else 12
    photo = np.ascontiguousarray(photo_pair()[0][:side, :side])
    candidates = (9 * photo, np.minimum(2 * photo + 0.3, 1), np.ones_like(photo))
    for far in candidates if side > 12 else candidates[:1]:
        assert abs(similarity.ssim(photo, far, 0, "cuda") - skimage_scores(photo, far)[0]) < 1e-7


@pytest.mark.cuda
@pytest.mark.parametrize("convention", ["pillow", "matlab"])
def test_cuda_resampling_equals_the_cpu(convention):
    from dpdown.kernels.device import to_host

    x = np.random.default_rng(6).random((5, 4, 3), dtype=np.float32)
    for out in ((10, 8), (3, 2)):
        assert np.array_equal(to_host(resampling.resize(x, out, convention, "cuda")),
                              resampling.resize(x, out, convention))
