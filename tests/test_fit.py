"""dpdown fit: search spaces from the registry, the split, known optima, the eval's protocol
(the super-resolution conventions included), CLI."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import dpdown
from dpdown.cli import cli
from dpdown.errors import ParameterError
from dpdown.evaluation import datasets, evaluate, fit
from dpdown.methods import registry

from conftest import photo_crop


def toward_point_eight(target, candidate):
    """A metric with a known optimum: the pooled image's mean should be 0.8."""
    return -float((candidate.mean() - 0.8) ** 2)


@pytest.fixture
def boards(tmp_path):
    # 0/1 checkerboards: every aligned 2×2 window holds two 1s on its diagonal, so avg = ½,
    # max = 1, mixed = ½ + a/2 and gated = ½ + σ(ω₀ + ω₃)/2, everywhere
    root = tmp_path / "boards"
    root.mkdir()
    for i, size in enumerate((16, 20, 24)):
        board = (np.indices((size, size)).sum(axis=0) % 2 == 0).astype(np.uint8) * 255
        Image.fromarray(board).save(root / f"board{i}.png")
    return datasets.resolve([str(root)])


def test_search_spaces_follow_the_registry():
    dpp = registry.get("dpp")
    space = fit.space_for(dpp, ["alpha", "lambda", "filter"], 2, dpp.resolve({}))
    assert space.names == ("alpha", "lam", "filter") and len(space.start) == 11
    assert space.bounds[:2] == ((0.0, 1e6), (0.0, 100.0))
    assert space.unpack(np.arange(11.0)) == {"alpha": 0.0, "lam": 1.0, "filter": tuple(np.arange(2.0, 11.0))}
    gated = registry.get("gated")
    assert len(fit.space_for(gated, ["gate-weights"], 3, gated.resolve({})).start) == 9
    ordinal = registry.get("ordinal")
    assert len(fit.space_for(ordinal, ["weights"], 2, ordinal.resolve({"pool_range": 3})).start) == 3
    for names, text in ((["variant"], "not a continuous parameter"), (["gamma"], "not a continuous")):
        with pytest.raises(ParameterError, match=text):
            fit.space_for(dpp, names, 2, dpp.resolve({}))
    with pytest.raises(ParameterError, match="no continuous parameter"):
        fit.space_for(registry.get("avg"), ["x"], 2, {})


def test_split_is_seeded_disjoint_and_complete():
    paths = [f"{c}.png" for c in "abcdefghij"]
    train, held = fit.split(paths, 0.3, seed=1)
    assert len(held) == 3 and sorted(train + held) == paths and not set(train) & set(held)
    assert fit.split(list(reversed(paths)), 0.3, seed=1) == (train, held)
    assert fit.split(paths, 0.3, seed=2) != (train, held)
    with pytest.raises(ParameterError, match="at least two images"):
        fit.split(["a.png"], 0.3, 0)


def test_known_optimum_of_a_scalar(boards):
    result = fit.fit(boards, "mixed", 2, ["mix"], "test_fit:toward_point_eight", "reference", patch=0,
                     max_evals=60)
    assert result.params["mix"] == pytest.approx(0.6, abs=1e-3)
    assert result.held_out["fitted"] > result.held_out["default"]  # default ½ gives mean 0.75
    assert result.train["fitted"] == pytest.approx(0, abs=1e-7)


def test_known_optimum_of_a_mask(boards):
    result = fit.fit(boards, "gated", 2, ["gate-weights"], "test_fit:toward_point_eight", "reference", patch=0,
                     max_evals=200)
    w = result.params["gate_weights"]
    assert 0.5 + 0.5 / (1 + np.exp(-(w[0] + w[3]))) == pytest.approx(0.8, abs=2e-3)


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    for i, name in enumerate(("flower.png", "keong_macan.png", "bliznaca.png")):
        Image.fromarray(photo_crop(name, box=(100, 100, 40, 36))).save(root / f"{i}.png")
    return root


def test_ssim_fit_never_ends_below_its_start(photos):
    result = fit.fit(datasets.resolve([str(photos)]), "softpool", 2, None, "ssim", "upsample", max_evals=15)
    assert result.fitted == ["beta"] and result.train["fitted"] >= result.train["default"] - 1e-12
    assert result.evaluations <= 15 + 5  # Powell finishes its current line search


def test_cli_fit_then_scale_with_the_file(boards, tmp_path):
    (_, _, paths), = boards
    folder = str(tmp_path / "boards")
    out = tmp_path / "mixed.json"
    runner = CliRunner()
    args = ["fit", folder, "-m", "mixed", "-k", "2", "--params", "mix", "--metric", "test_fit:toward_point_eight",
            "--protocol", "reference", "--patch", "0", "-o", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["method"] == "mixed" and record["fitted"] == ["mix"] and record["protocol"] == "reference"
    assert record["held_out"]["images"] == 1 and record["train"]["images"] == 2 and record["data"] == ["boards"]
    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "exists" in again.output
    img = photo_crop()
    Image.fromarray(img).save(tmp_path / "in.png")
    result = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "-k", "2", "--params-file", str(out),
                                 "-o", str(tmp_path / "out.png")])
    assert result.exit_code == 0, result.output
    expected = dpdown.downscale(img, 2, **fit.load(out))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), expected)
    overridden = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "-k", "2", "--params-file", str(out),
                                     "--mix", "1", "-o", str(tmp_path / "max.png")])
    assert overridden.exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "max.png")), dpdown.downscale(img, 2, method="max"))
    clash = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "-k", "2", "--params-file", str(out),
                                "-m", "dpp", "-o", str(tmp_path / "x.png")])
    assert clash.exit_code == 2 and "differs" in clash.output
    recorded = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "--params-file", str(out),
                                   "-o", str(tmp_path / "recorded.png")])  # k from the file
    assert recorded.exit_code == 0, recorded.output
    assert (tmp_path / "recorded.png").read_bytes() == (tmp_path / "out.png").read_bytes()
    other_k = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "-k", "4", "--params-file", str(out),
                                 "-o", str(tmp_path / "k4.png")])
    assert other_k.exit_code == 2 and "-k 4 differs from the k = 2" in other_k.output
    (tmp_path / "bad.json").write_text("{}")
    bad = runner.invoke(cli, ["scale", str(tmp_path / "in.png"), "-k", "2", "--params-file",
                              str(tmp_path / "bad.json"), "-o", str(tmp_path / "y.png")])
    assert bad.exit_code == 2 and "not a dpdown fit file" in bad.output and not (tmp_path / "y.png").exists()


@pytest.mark.parametrize("args,text", [
    (["-m", "avg", "-k", "2"], "no continuous parameter"),
    (["-m", "dpp", "-k", "2", "--params", "variant"], "not a continuous parameter"),
    (["-m", "dpp", "-k", "2", "--metric", "nosuchmodule:f"], "--metric"),
    (["-m", "dpp", "-k", "2", "--metric", "mse"], "--metric must be"),
])
def test_cli_fit_bad_arguments(boards, tmp_path, args, text):
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "boards"), *args, "-o", str(tmp_path / "f.json")])
    assert result.exit_code == 2 and text in result.output and "Traceback" not in result.output
    assert not (tmp_path / "f.json").exists()


def test_python_api(boards, tmp_path):
    result = dpdown.fit_method(str(tmp_path / "boards"), method="mixed", k=2, params=["mix"],
                               metric="test_fit:toward_point_eight", protocol="reference", patch=0, max_evals=60)
    result.save(tmp_path / "f.json")
    assert dpdown.load_params(tmp_path / "f.json")["mix"] == pytest.approx(0.6, abs=1e-3)
    record = json.loads((tmp_path / "f.json").read_text())
    assert (record["protocol"], record["channel"], record["shave"], record["filter"]) == \
        ("reference", "rgb", 0, "pillow")
    with pytest.raises(ParameterError, match="--filter must be one of"):
        dpdown.fit_method(str(tmp_path / "boards"), method="mixed", k=2, filter="bilinear")


def _as_evaluated(paths, k, method, params, protocol, index):
    """The mean over ``paths`` of what ``dpdown eval``'s unit of work (one image) reports for
    ``method`` with ``params``: SSIM (``index`` 0) or PSNR (1)."""
    spec = evaluate.MethodSpec(method, tuple(params.items()))
    values = []
    for path in paths:
        done = evaluate.evaluate_image(evaluate.ImageTask("photos", path, path, (k,), (spec,), protocol))
        assert not done.error, done.error
        values.append((done.rows[0].ssim, done.rows[0].psnr)[index])
    return float(np.mean(values))


def test_cli_fit_scores_as_eval_with_the_super_resolution_conventions(photos, tmp_path):
    """--channel y --shave 2 --filter matlab: the default and fitted figures on both splits are
    what the evaluation reports for those parameters on those images; the file and the summary
    say the options."""
    out = tmp_path / "y.json"
    result = CliRunner().invoke(cli, ["fit", str(photos), "-m", "mixed", "-k", "2", "--patch", "0",
                                      "--max-evals", "12", "--channel", "y", "--shave", "2", "--filter", "matlab",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "protocol upsample, channel y, shave 2, filter matlab" in result.output
    record = json.loads(out.read_text())
    assert (record["protocol"], record["channel"], record["shave"], record["filter"]) == ("upsample", "y", 2, "matlab")
    protocol = evaluate.Protocol("upsample", "y", 2, "matlab")
    train, held = fit.split(sorted(str(p) for p in photos.iterdir()), 0.3, 0)
    defaults = registry.get("mixed").resolve({})
    for paths, figures in ((train, record["train"]), (held, record["held_out"])):
        assert figures["default"] == pytest.approx(_as_evaluated(paths, 2, "mixed", defaults, protocol, 0), abs=1e-12)
        assert figures["fitted"] == pytest.approx(_as_evaluated(paths, 2, "mixed", record["params"], protocol, 0),
                                                  abs=1e-12)
    assert record["params"]["mix"] != defaults["mix"]  # the fitted figures are not the defaults'
    assert record["train"]["fitted"] > record["train"]["default"]
    assert fit.load(out) == {"method": "mixed", "mix": record["params"]["mix"]}


def test_psnr_fit_with_shave_k_and_reference_scores_as_eval(photos):
    protocol = evaluate.Protocol("reference", "rgb", "k", "matlab")
    sets = datasets.resolve([str(photos)])
    result = dpdown.fit_method(str(photos), method="lp", k=2, metric="psnr", protocol="reference", shave="k",
                               filter="matlab", patch=0, max_evals=4)
    assert (result.protocol, result.channel, result.shave, result.filter) == ("reference", "rgb", "k", "matlab")
    (_, _, paths), = sets
    train, _ = fit.split(paths, 0.3, 0)
    assert result.train["fitted"] == pytest.approx(_as_evaluated(train, 2, "lp", result.params, protocol, 1),
                                                   abs=1e-9)


def test_files_without_the_conventions_still_load(tmp_path):
    # a file written before --channel/--shave/--filter were recorded
    old = {"method": "mixed", "params": {"mix": 0.25}, "fitted": ["mix"], "k": 2, "metric": "ssim",
           "protocol": "upsample", "data": ["boards"]}
    (tmp_path / "old.json").write_text(json.dumps(old))
    params, k = fit.load_with_k(tmp_path / "old.json")
    assert params == {"method": "mixed", "mix": 0.25} and k == 2


@pytest.mark.parametrize("args,text", [
    (["--channel", "lab"], "--channel"),
    (["--shave", "two"], "--shave must be a number of pixels or k"),
    (["--shave", "-1"], "--shave"),
    (["--filter", "lanczos"], "--filter"),
])
def test_cli_fit_bad_conventions(boards, tmp_path, args, text):
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "boards"), "-m", "mixed", "-k", "2", *args,
                                      "-o", str(tmp_path / "f.json")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dpdown: error:") and text in lines[0], result.output
    assert not (tmp_path / "f.json").exists()


def test_cli_fit_y_channel_of_grey_images_is_one_error(boards, tmp_path):
    result = CliRunner().invoke(cli, ["fit", str(tmp_path / "boards"), "-m", "mixed", "-k", "2", "--channel", "y",
                                      "-q", "-o", str(tmp_path / "f.json")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "board" in lines[0] and "needs an RGB image" in lines[0], result.output
