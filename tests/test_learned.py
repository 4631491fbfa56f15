"""Learned pooling: learning the operator, applying it, the CLI."""


import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import dpdown
from dpdown.cli import cli
from dpdown.errors import ParameterError
from dpdown.evaluation import learning
from dpdown.methods import learned as operator_file

import naive
from conftest import make_operator, random_image


def twin(img, op):
    return naive.learned(img, op.weights, op.k, op.tile, op.mean, op.std)


@pytest.mark.parametrize("shape,k,tile", [((16, 12, 3), 2, 4), ((13, 11, 1), 2, 6), ((9, 10, 5), 3, 3),
                                          ((12, 12, 2), 4, 8)], ids=str)
def test_kernel_equals_naive(shape, k, tile):
    img = random_image(shape, np.float64, seed=sum(shape))
    op = make_operator(k, tile, shape[2])
    out = dpdown.downscale(img, k, method="learned", operator=op, has_alpha=False)
    np.testing.assert_allclose(out if out.ndim == 3 else out[:, :, None], twin(img, op), atol=1e-9)


@pytest.mark.cuda
def test_cuda_equals_naive_and_cpu():
    img = random_image((14, 13, 3), np.float64, seed=1)
    op = make_operator(2, 4, 3)
    gpu = dpdown.downscale(img, 2, method="learned", operator=op, device="cuda")
    np.testing.assert_allclose(gpu, twin(img, op), atol=1e-9)
    np.testing.assert_allclose(gpu, dpdown.downscale(img, 2, method="learned", operator=op), rtol=1e-9)
    small = random_image((9, 8, 3), np.uint8, seed=2)
    np.testing.assert_allclose(dpdown.downscale(small, 2, method="learned", operator=op, device="cuda").astype(float),
                               dpdown.downscale(small, 2, method="learned", operator=op).astype(float), atol=1)


def test_scatter_matrices_equal_a_direct_computation():
    rng = np.random.default_rng(3)
    images = [(rng.random((8, 9, 2)) * (1 + q), q) for q in (0, 1, 2, 0, 1, 2, 2)]
    scatter = learning.Scatter(4)
    for img, q in images:
        scatter.add(img, q)
    a, b = scatter.matrices()
    # direct: normalise every pixel, cut the tiles, build eqs. 11-12 from the tiles themselves
    pixels = np.concatenate([img.reshape(-1, 2) for img, _ in images])
    mean, std = pixels.mean(axis=0), pixels.std(axis=0)
    tiles = {q: [] for q in (0, 1, 2)}
    for img, q in images:
        g = (img - mean) / std
        for y in range(0, 8, 4):
            for x in range(0, 8, 4):
                tiles[q].append(g[y:y + 4, x:x + 4].reshape(16, 2))
    centres = {q: np.mean(t, axis=0) for q, t in tiles.items()}
    overall = np.mean(list(centres.values()), axis=0)
    a_direct = sum((c - overall) @ (c - overall).T for c in centres.values())
    b_direct = sum(sum((x - centres[q]) @ (x - centres[q]).T for x in t) / len(t) for q, t in tiles.items())
    np.testing.assert_allclose(a, a_direct, atol=1e-9)
    np.testing.assert_allclose(b, b_direct, atol=1e-9)


def digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    d = sklearn.load_digits()
    return d.images / 16.0, d.target


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_large_alpha_concentrates_each_output_on_its_own_block(norm):
    # classes differ by a shift of every pixel, noise is independent: every pixel informs alike,
    # so only the locality penalty decides where the weight goes
    rng = np.random.default_rng(5)
    samples = [(rng.normal(size=(8, 8)) + q, q) for q in (0, 1, 2) for _ in range(40)]
    op = learning.learn_arrays(samples, 2, 8, alpha=1e4, norm=norm)
    for m, p in enumerate(op.weights):
        y, x = divmod(int(np.argmax(np.abs(p))), 8)
        assert (y // 2, x // 2) == divmod(m, 4)
        block = (np.arange(64) // 8 // 2) * 4 + np.arange(64) % 8 // 2 == m
        assert np.abs(p[block]).min() > 2 * np.abs(p[~block]).max()  # weight falls off as 1/distance²
        assert np.isclose(np.abs(p).sum() if norm == "l1" else np.linalg.norm(p), 1.0) and p.sum() > 0


def test_learned_operator_separates_digits_better_than_average_pooling():
    images, labels = digits()
    op = learning.learn_arrays(zip(images, labels), 2, 8, alpha=25.0)
    scatter = learning.Scatter(8)
    for img, q in zip(images, labels):
        scatter.add(img, q)
    a, b = scatter.matrices()
    ours = learning.separability(op.weights, a, b)
    average = learning.separability(learning.average_operator(8, 2), a, b)
    assert ours.mean() > average.mean()
    # α → 0 maximises S_b/S_w itself (B alone is singular: digits have blank pixels)
    free = learning.learn_arrays(zip(images, labels), 2, 8, alpha=1e-6)
    assert (learning.separability(free.weights, a, b) >= np.maximum(ours, average) * (1 - 1e-6)).all()


def test_operator_file_round_trip_and_bad_files(tmp_path):
    op = make_operator(2, 4, 3)
    learning.save(op, tmp_path / "op.npz")
    back = operator_file.load(tmp_path / "op.npz")
    np.testing.assert_array_equal(back.weights, op.weights)
    assert (back.k, back.tile, back.norm, back.classes) == (2, 4, "l2", ("a", "b"))
    (tmp_path / "junk.npz").write_text("not an operator")
    img = random_image((8, 8, 3), np.uint8)
    for path, match in ((tmp_path / "junk.npz", "not a learned pooling operator"), (tmp_path / "none.npz", "No such")):
        with pytest.raises(ParameterError, match=match):
            dpdown.downscale(img, 2, method="learned", operator=str(path))
    with pytest.raises(ParameterError, match="use -k 2"):
        dpdown.downscale(img, 4, method="learned", operator=op)
    with pytest.raises(ParameterError, match="3-channel"):
        dpdown.downscale(img[:, :, 0], 2, method="learned", operator=op)
    with pytest.raises(ParameterError, match="needs --operator"):
        dpdown.downscale(img, 2, method="learned")


def write_dataset(root, classes=2, per_class=3, size=(12, 12)):
    rng = np.random.default_rng(0)
    for q in range(classes):
        (root / f"class{q}").mkdir(parents=True)
        for t in range(per_class):
            pixels = (rng.random(size) * 100 + 120 * q).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"class{q}" / f"{t}.png")


def test_cli_learn_then_scale(tmp_path):
    write_dataset(tmp_path / "data")
    runner = CliRunner()
    result = runner.invoke(cli, ["learn", str(tmp_path / "data"), "-k", "2", "--tile", "4", "--alpha", "5",
                                 "--norm", "l1", "-o", str(tmp_path / "op.npz")])
    assert result.exit_code == 0, result.output
    op = operator_file.load(tmp_path / "op.npz")
    assert op.weights.shape == (4, 16) and op.images == 6 and op.classes == ("class0", "class1")
    img = random_image((10, 14), np.uint8, seed=4)
    Image.fromarray(img).save(tmp_path / "in.png")
    result = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "--method", "learned", "--operator",
                                 str(tmp_path / "op.npz"), "-k", "2", "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 0, result.output
    out = np.asarray(Image.open(tmp_path / "out.png"))
    expected = twin(img[:, :, None] / 255.0, op)[:, :, 0]
    np.testing.assert_allclose(out, np.rint(np.clip(expected, 0, 1) * 255), atol=1)
    # the operator records its k: no -k needed, and a different one is a usage error
    result = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "--method", "learned", "--operator",
                                 str(tmp_path / "op.npz"), "-o", str(tmp_path / "same.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "same.png").read_bytes() == (tmp_path / "out.png").read_bytes()
    result = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "--method", "learned", "--operator",
                                 str(tmp_path / "op.npz"), "-k", "3", "-o", str(tmp_path / "k3.png")])
    assert result.exit_code == 2 and "-k 3 differs from the k = 2" in result.output
    assert not (tmp_path / "k3.png").exists()


@pytest.mark.parametrize("setup,args,code,text", [
    ("none", ["-k", "2"], 2, "needs at least two class subfolders"),
    ("one", ["-k", "2"], 2, "needs at least two class subfolders"),
    ("two", ["-k", "2", "--tile", "5"], 2, "multiple of -k"),
    ("two", ["-k", "2", "--tile", "16"], 2, "at least two classes"),
])
def test_cli_learn_bad_input(tmp_path, setup, args, code, text):
    data = tmp_path / "data"
    data.mkdir()
    if setup != "none":
        write_dataset(data / "x" if setup == "one" else data, classes=1 if setup == "one" else 2)
    result = CliRunner().invoke(cli, ["learn", str(data), *args, "-o", str(tmp_path / "op.npz")])
    assert result.exit_code == code and text in result.output and "Traceback" not in result.output
    assert not (tmp_path / "op.npz").exists()


def test_cli_scale_with_an_unreadable_operator(tmp_path):
    Image.fromarray(random_image((8, 8), np.uint8)).save(tmp_path / "in.png")
    (tmp_path / "bad.npz").write_bytes(b"\x00" * 10)
    result = CliRunner().invoke(cli, ["scale", str(tmp_path / "in.png"), "--method", "learned", "--operator",
                                      str(tmp_path / "bad.npz"), "-k", "2", "-o", str(tmp_path / "out.png")])
    assert result.exit_code != 0 and "not a learned pooling operator" in result.output
    assert not (tmp_path / "out.png").exists()
