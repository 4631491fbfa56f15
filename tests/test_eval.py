"""dpdown eval: the protocol pinned on tiny images, datasets, aggregation, reports, CLI."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import dpdown
from dpdown.cli import cli
from dpdown.errors import ParameterError
from dpdown.evaluation import datasets, evaluate, paper_values, report

import naive
from conftest import photo_crop, random_image

# ---- the protocol, by hand -------------------------------------------------------------------

def test_constant_offset_has_the_hand_computed_ssim_and_psnr():
    # constant images: σ = σxy = 0, so SSIM is the luminance term alone; MSE = 0.01
    a, b = np.full((20, 20, 1), 0.5, np.float32), np.full((20, 20, 1), 0.6, np.float32)
    ssim, psnr = evaluate.compare(a, b)
    c1 = 0.01 ** 2
    assert ssim == pytest.approx((2 * 0.5 * 0.6 + c1) / (0.5 ** 2 + 0.6 ** 2 + c1), abs=1e-6)
    assert psnr == pytest.approx(20.0, abs=1e-4)


def test_checkerboard_averaged_to_grey_under_upsample():
    # avg pooling at k = 2 turns a 0/1 checkerboard into flat 0.5; bicubic keeps it flat: MSE = 1/4
    board = (np.indices((24, 24)).sum(axis=0) % 2).astype(np.float32)[:, :, None]
    pooled = dpdown.downscale(board, 2, method="avg", has_alpha=False)
    target = evaluate.target_for(board, 2, "upsample")
    shown = evaluate.candidate(pooled, target, "upsample")
    assert np.allclose(shown, 0.5)
    ssim, psnr = evaluate.compare(target, shown)
    assert psnr == pytest.approx(10 * math.log10(4), abs=1e-5)
    assert ssim == pytest.approx(naive.ssim(target, shown), abs=1e-6)


@pytest.mark.parametrize("shape", [(16, 19, 3), (13, 12, 1)])
def test_ssim_equals_the_naive_formula(shape):
    rng = np.random.default_rng(sum(shape))
    a = rng.random(shape).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.15, shape), 0, 1).astype(np.float32)
    assert evaluate.compare(a, b)[0] == pytest.approx(naive.ssim(a, b), abs=1e-6)
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    assert evaluate.compare(a, b)[1] == pytest.approx(10 * math.log10(1 / mse), abs=1e-4)


@pytest.mark.parametrize("protocol", ["upsample", "reference"])
def test_scoring_is_warmed_in_both_precisions(protocol, monkeypatch):
    from dpdown.kernels import bands
    from dpdown.kernels import similarity as kernels

    ran, run = [], bands.run
    monkeypatch.setattr(bands, "run", lambda kernel, *args: ran.append(kernel) or run(kernel, *args))
    evaluate.warm_scoring(protocol)
    assert {kernels.ssim_rows, kernels.ssim_rows_float64} <= set(ran)


def test_reference_protocol_compares_at_the_pooled_size():
    # a horizontal ramp: average pooling and a Lanczos reference agree away from the borders
    ramp = np.tile(np.linspace(0.1, 0.9, 60, dtype=np.float32), (30, 1))[:, :, None]
    target = evaluate.target_for(ramp, 3, "reference")
    assert target.shape == (10, 20, 1)
    pooled = dpdown.downscale(ramp, 3, method="avg", has_alpha=False)
    assert evaluate.candidate(pooled, target, "reference") is pooled
    np.testing.assert_allclose(target[:, 3:-3], pooled[:, 3:-3], atol=1e-5)


def test_crop_to_a_multiple_of_k_and_the_protocol_text():
    assert evaluate.crop(np.zeros((17, 23, 3)), 5).shape == (15, 20, 3)
    for name in evaluate.PROTOCOLS:
        text = evaluate.protocol_text(name)
        assert name in text and "σ = 1.5" in text and "K1 = 0.01" in text and "multiple of k" in text


def test_too_small_for_ssim_is_a_clear_error():
    with pytest.raises(ParameterError, match="SSIM needs at least 11×11"):
        evaluate.compare(np.zeros((8, 30, 3), np.float32), np.zeros((8, 30, 3), np.float32))


# ---- methods ---------------------------------------------------------------------------------

def test_method_specs():
    spec = evaluate.parse_method("dpp:lambda=2:variant=asym")
    assert (spec.name, dict(spec.params), spec.label) == ("dpp", {"lam": 2.0, "variant": "asym"},
                                                          "dpp:lambda=2:variant=asym")
    assert dict(evaluate.parse_method("ordinal:pool_range=3:weights=1,2,3").params) == \
        {"pool_range": 3, "weights": (1.0, 2.0, 3.0)}
    for bad, text in (("dpp:gamma=1", "it takes"), ("dpp:lambda", "key=value"), ("nosuch", "unknown method"),
                      ("dpp:lambda=-1", "must be in")):
        with pytest.raises(ParameterError, match=text):
            evaluate.parse_method(bad)
    names = [m.name for m in evaluate.default_methods()]
    assert "learned" not in names and {"avg", "softpool", "dpid", "dpp", "s3dpp"} <= set(names)


def test_paper_values_as_printed():
    assert paper_values.lookup("DIV2K", "softpool", 2) == (0.729, 51.436)
    assert paper_values.lookup("Urban100", "max", 5) == (0.330, 20.654)
    assert paper_values.lookup("Manga109", "pow-average", 5) == (0.160, 9.266)
    assert paper_values.lookup("Flickr2K", "dpp", 3) == (0.534, 43.608)
    assert paper_values.lookup("DIV2K", "dpid", 2) is None and paper_values.lookup("DIV2K", "avg", 4) is None
    assert paper_values.lookup(None, "avg", 2) is None


# ---- datasets --------------------------------------------------------------------------------

def test_folder_recognition_and_high_resolution_subfolders(tmp_path):
    assert datasets.recognise("/data/DIV2K_valid_HR") == "DIV2K"
    assert datasets.recognise("/x/Flicker2K") == "Flickr2K" and datasets.recognise("/x/flickr2k/a") == "Flickr2K"
    assert datasets.recognise("/x/holiday") is None
    img = Image.fromarray(random_image((20, 20, 3), np.uint8))
    for rel in ("Urban100/HR/a.png", "Urban100/LR_x2/a.png", "Urban100/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        img.save(tmp_path / rel) if rel.endswith(".png") else (tmp_path / rel).write_text("x")
    assert datasets.folder_images(str(tmp_path / "Urban100")) == [str(tmp_path / "Urban100/HR/a.png")]
    (label, paper, paths), = datasets.resolve([str(tmp_path / "Urban100")])
    assert (label, paper, len(paths)) == ("Urban100", "Urban100", 1)
    srf = tmp_path / "set" / "image_SRF_2"
    srf.mkdir(parents=True)
    img.save(srf / "img_001_SRF_2_HR.png")
    img.save(srf / "img_001_SRF_2_LR.png")
    assert datasets.folder_images(str(tmp_path / "set")) == [str(srf / "img_001_SRF_2_HR.png")]


def test_named_datasets_from_a_packages_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DPDOWN_DATASETS_ROOT", str(tmp_path))
    urban = datasets.NAMED["urban"]
    with pytest.raises(ParameterError, match="apt-get install opencv-doc palapeli-data"):
        datasets.resolve(names=["urban"])
    for entry in urban.entries[:2]:
        path = tmp_path / entry.path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo_crop()).save(path, format="JPEG")
    with pytest.warns(RuntimeWarning, match=r"2 of its 9 images are installed; the others need: .*opencv-doc"):
        (label, paper, paths), = datasets.resolve(names=["urban"])
    assert (label, paper, len(paths)) == ("urban", "Urban100", 2)
    piped = CliRunner().invoke(cli, ["eval", "--dataset", "urban", "-k", "2", "-m", "avg", "-j", "1"])
    assert piped.exit_code == 0, piped.output
    lines = piped.output.splitlines()
    assert lines[0] == "dpdown: notice: dataset 'urban': 2 of its 9 images are installed; the others need: " \
        "sudo apt-get install opencv-doc"
    assert lines[1].startswith("evaluating 2 images (urban: 2) × 1 method × k = 2")
    assert [ln.split(" done ")[0] for ln in lines if " done " in ln] == ["[1/2]", "[2/2]"]
    assert urban.missing_packages() == ["opencv-doc"]
    result = CliRunner().invoke(cli, ["datasets"])
    assert result.exit_code == 0 and "2 / 9" in result.output and "opencv-doc" in result.output
    every = {e.path for d in datasets.NAMED.values() for e in d.entries}
    assert len(every) == 26 + 9 and all(e.licence for d in datasets.NAMED.values() for e in d.entries)


# ---- a whole evaluation ----------------------------------------------------------------------

@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    Image.fromarray(photo_crop(box=(300, 200, 61, 47))).save(root / "a.png")
    Image.fromarray(photo_crop("keong_macan.png", box=(100, 80, 40, 52))).save(root / "b.png")
    Image.fromarray(np.full((40, 36, 3), 90, np.uint8)).save(root / "flat.png")
    return root


def test_run_rows_and_summary(folder):
    specs = [evaluate.parse_method(m) for m in ("avg", "max", "dpp:lambda=2")]
    ev = evaluate.run(datasets.resolve([str(folder)]), (2, 3), specs, jobs=1)
    assert ev.images == 3 and not ev.failures and len(ev.rows) == 3 * 2 * 3
    flat = [r for r in ev.rows if r.image == "flat.png"]
    assert all(r.ssim == pytest.approx(1.0) and r.psnr == math.inf for r in flat)  # constant stays constant
    by_key = {(a.k, a.method): a for a in ev.summary()}
    ours = [r.ssim for r in ev.rows if r.k == 3 and r.method == "dpp:lambda=2"]
    assert by_key[3, "dpp:lambda=2"].ssim_mean == pytest.approx(np.mean(ours))
    assert by_key[3, "dpp:lambda=2"].ssim_std == pytest.approx(np.std(ours))
    assert by_key[2, "avg"].psnr_mean == math.inf  # one identical pair makes the mean infinite
    # a row is what the protocol gives for that image alone
    a = evaluate.load(folder / "a.png")
    target = evaluate.crop(a, 2)
    pooled = dpdown.downscale(target, 2, method="max", has_alpha=False)
    expected = evaluate.compare(target, evaluate.candidate(pooled, target, "upsample"))
    row = next(r for r in ev.rows if r.image == "a.png" and r.k == 2 and r.method == "max")
    assert (row.ssim, row.psnr) == pytest.approx(expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_lip_without_a_filter_is_softpool_bit_for_bit(dtype):
    from dpdown.methods import registry

    img = random_image((23, 19, 3), dtype, seed=4)
    for beta in (1.0, 2.5):
        assert np.array_equal(dpdown.downscale(img, 3, method="lip", beta=beta),
                              dpdown.downscale(img, 3, method="softpool", beta=beta))
        assert registry.get("lip").computation({"beta": beta}) == registry.get("softpool").computation({"beta": beta})
    assert registry.get("lip").computation({"logit_filter": (0,) * 4 + (1,) + (0,) * 4}) != \
        registry.get("softpool").computation({})
    assert registry.get("avg").computation({}) != registry.get("sum").computation({})
    learned = registry.get("learned")  # an object given through the API, unhashable: never shared
    assert learned.computation({"operator": np.zeros(3)}) != learned.computation({"operator": np.zeros(3)})


def test_methods_that_are_one_computation_are_pooled_and_scored_once(folder, monkeypatch):
    calls, pool = [], evaluate.pool
    monkeypatch.setattr(evaluate, "pool", lambda original, k, name, *args: calls.append((k, name))
                        or pool(original, k, name, *args))
    specs = [evaluate.parse_method(m) for m in ("softpool", "lip", "lip:beta=2", "softpool:beta=2", "avg")]
    ev = evaluate.run(datasets.resolve([str(folder)]), (2,), specs, jobs=1)
    assert sorted(calls) == sorted([(2, "softpool"), (2, "lip"), (2, "avg")] * 3)  # per image: 3 pooled of 5
    for image in ("a.png", "b.png"):
        rows = {r.method: (r.ssim, r.psnr, r.seconds) for r in ev.rows if r.image == image}
        assert rows["softpool"] == rows["lip"] and rows["lip:beta=2"] == rows["softpool:beta=2"]
        assert rows["softpool"][:2] != rows["lip:beta=2"][:2]


def test_parallel_workers_give_the_same_rows(folder):
    sets = datasets.resolve([str(folder)])
    specs = [evaluate.MethodSpec("avg")]
    one = evaluate.run(sets, (2,), specs, "reference", jobs=1)
    two = evaluate.run(sets, (2,), specs, "reference", jobs=2)
    assert [(r.image, r.ssim, r.psnr) for r in one.rows] == [(r.image, r.ssim, r.psnr) for r in two.rows]


def test_a_bad_image_is_reported_and_the_rest_go_on(folder):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    Image.fromarray(np.zeros((9, 40, 3), np.uint8)).save(folder / "thin.png")  # too small for SSIM at k=2
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", str(folder), "-k", "2", "-m", "avg", "-j", "1", "--format", "csv"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    failed = [line for line in result.output.splitlines() if line.startswith("failed")]
    assert len(failed) == 2 and any("broken.png" in f for f in failed) and any("SSIM needs" in f for f in failed)
    assert "pics,2,avg,3," in result.output  # the three good images were averaged


def test_cli_formats(folder, tmp_path):
    urban = folder.rename(tmp_path / "Urban100")
    runner = CliRunner()
    base = ["eval", str(urban), "-k", "2", "-k", "3", "-m", "avg", "-m", "softpool", "-m", "dpid", "-j", "1",
            "--paper"]
    md = runner.invoke(cli, base + ["--format", "markdown"])
    assert md.exit_code == 0, md.output
    assert "| `softpool` |" in md.output and "Urban100 k=2 paper SSIM" in md.output and "0.694" in md.output
    assert "Protocol 'upsample'" in md.output and "**" in md.output
    data = json.loads(runner.invoke(cli, base + ["--format", "json", "--protocol", "reference", "-q"]).output)
    assert data["protocol"] == "reference" and len(data["per_image"]) == 3 * 2 * 3
    assert {s["method"] for s in data["summary"]} == {"avg", "softpool", "dpid"}
    assert next(s for s in data["summary"] if s["method"] == "avg" and s["k"] == 3)["paper_ssim"] == 0.563
    table = runner.invoke(cli, base)
    assert table.exit_code == 0 and "softpool" in table.output and "paper" in table.output


def test_html_report_in_an_output_folder(folder, tmp_path):
    pytest.importorskip("matplotlib", reason="the HTML report's plots need the report extra: dpdown[report]")
    urban = folder.rename(tmp_path / "Urban100")
    runner = CliRunner()
    base = ["eval", str(urban), "-k", "2", "-k", "3", "-m", "avg", "-m", "softpool", "-m", "dpid", "-j", "1",
            "--paper"]
    out = tmp_path / "report"
    result = runner.invoke(cli, base + ["--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text()
    # a plot, and for each k the original's region and the three methods' results
    assert page.count("data:image/png;base64") == 1 + 2 * (1 + 3) and "Protocol 'upsample'" in page
    assert "Urban100: one region, k = 2" in page and "Urban100: one region, k = 3" in page
    assert "a.png: the block where the methods' results differ most" in page
    assert page.count("<img ") == page.count("<img alt=") + page.count("<img class=plot alt=")  # every image has alt
    assert (out / "images.csv").read_text().count("\n") == 1 + 18
    assert (out / "summary.csv").read_text().splitlines()[0].startswith("dataset,k,method,images,ssim_mean")
    again = runner.invoke(cli, base + ["--format", "html", "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output


def test_an_output_named_like_a_report_is_that_file(folder, tmp_path):
    base = ["eval", str(folder), "-k", "2", "-m", "avg", "-j", "1", "-q"]
    runner = CliRunner()
    result = runner.invoke(cli, base + ["--format", "json", "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pics", "r-images.csv", "r-summary.csv", "r.json"]
    assert json.loads((tmp_path / "r.json").read_text())["protocol"] == "upsample"
    result = runner.invoke(cli, base + ["-o", str(tmp_path / "sub" / "table.md")])  # the format from the name
    assert result.exit_code == 0 and "| method |" in (tmp_path / "sub" / "table.md").read_text()
    clash = runner.invoke(cli, base + ["--format", "html", "-o", str(tmp_path / "x.json")])
    assert clash.exit_code == 2 and "does not match" in clash.output and not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("args,text", [
    ([], "give a folder or --dataset"),
    (["{folder}", "-m", "dpp:beta=2"], "it takes"),
    (["{folder}", "-k", "1"], "-k"),
    (["/nonexistent/x"], "/nonexistent/x: no such folder"),
    (["{folder}/a.png"], "a.png: not a folder"),
])
def test_cli_bad_arguments(folder, args, text):
    result = CliRunner().invoke(cli, ["eval", *[a.format(folder=folder) for a in args]])
    assert result.exit_code == 2 and text in result.output and "Traceback" not in result.output


def test_report_grid_marks_the_best_of_each_column():
    ev = evaluate.Evaluation("upsample", [("set", "DIV2K")], (2,), [evaluate.MethodSpec(m) for m in ("avg", "max")])
    ev.rows = [evaluate.Row("set", "x.png", 2, "avg", 0.9, 30.0, 0.1),
               evaluate.Row("set", "x.png", 2, "max", 0.95, 25.0, 0.1)]
    columns, values, best = report.grid(ev, paper=True)
    assert [(c.metric, c.paper) for c in columns] == [("ssim", False), ("psnr", False), ("ssim", True),
                                                      ("psnr", True)]
    assert values["avg"] == [0.9, 30.0, 0.714, 51.247] and best == {("max", 0), ("avg", 1)}


def test_python_api(folder):
    ev = dpdown.evaluate_methods(str(folder), k=2, methods=["avg", "dpp:lambda=2"], jobs=1, limit=2)
    assert ev.images == 2 and [a.method for a in ev.summary()] == ["avg", "dpp:lambda=2"]
    assert "Protocol 'upsample'" in ev.protocol_text


def test_device_is_resolved_once(folder, monkeypatch):
    from dpdown.kernels import device as devices

    monkeypatch.setattr(devices, "cuda_problem", lambda: "no CUDA driver or GPU found")
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", str(folder), "-k", "2", "-m", "avg", "-j", "1", "--device", "cuda"])
    assert result.exit_code == 1 and result.output.count("no CUDA driver") == 1
    result = runner.invoke(cli, ["eval", str(folder), "-k", "2", "-m", "avg", "-j", "1", "--device", "auto",
                                 "--format", "csv"])
    assert result.exit_code == 0 and "notice: no usable GPU" in result.output and "pics,2,avg,3," in result.output


@pytest.mark.cuda
def test_eval_on_the_gpu_equals_the_cpu(folder):
    cpu = evaluate.run(datasets.resolve([str(folder)]), (2,), [evaluate.MethodSpec("dpid")], jobs=1)
    gpu = evaluate.run(datasets.resolve([str(folder)]), (2,), [evaluate.MethodSpec("dpid")], jobs=1, device="cuda")
    assert [r.image for r in gpu.rows] == [r.image for r in cpu.rows]
    assert [r.ssim for r in gpu.rows] == pytest.approx([r.ssim for r in cpu.rows], rel=1e-5)
    assert [r.psnr for r in gpu.rows] == pytest.approx([r.psnr for r in cpu.rows], rel=1e-5)


def test_dask_local_cluster_gives_the_same_rows(folder):
    distributed = pytest.importorskip("distributed")
    sets = datasets.resolve([str(folder)])
    specs = [evaluate.MethodSpec("avg"), evaluate.parse_method("dpp:lambda=2")]
    local = evaluate.run(sets, (2,), specs, jobs=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        remote = evaluate.run(sets, (2,), specs, dask=cluster.scheduler_address)
    assert [(r.image, r.method, r.ssim, r.psnr) for r in remote.rows] == \
        [(r.image, r.method, r.ssim, r.psnr) for r in local.rows]


def test_an_image_smaller_than_k_is_named_by_its_own_size(folder):
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(folder / "dot.png")
    ev = evaluate.run(datasets.resolve([str(folder)]), (2,), [evaluate.MethodSpec("avg")], jobs=1)
    (path, error), = ev.failures
    assert path.endswith("dot.png") and error.endswith("dot.png: 1×1 is smaller than k = 2")


def test_a_method_needing_a_file_without_it_is_a_usage_error_before_any_image(folder):
    result = CliRunner().invoke(cli, ["eval", str(folder), "-k", "2", "-m", "learned", "-j", "1"])
    assert result.exit_code == 2
    assert result.output.strip() == "dpdown: error: -m learned: method learned needs operator=... " \
        "(e.g. -m learned:operator=FILE)"


def test_the_crop_region_is_where_the_methods_differ_most():
    from dpdown.evaluation.report import disagreement_region

    rng = np.random.default_rng(0)
    base = rng.random((32, 48, 3))
    edgy = base.copy()
    edgy[:, 24:] += 10  # a strong edge every method renders alike: not chosen
    results = [edgy.copy() for _ in range(4)]
    for r in results[1:]:
        r[16:24, 8:16] += rng.normal(0, 0.2, (8, 8, 3))  # fine detail the methods disagree on
    assert disagreement_region(results, 8) == (16, 8)


def test_the_html_report_fits_an_800_pixel_window_in_a_real_browser(folder, tmp_path):
    """Chromium, headless, lays the report out at 800 px: nothing wider than the window."""
    import shutil
    import subprocess

    pytest.importorskip("matplotlib", reason="the HTML report's plots need the report extra: dpdown[report]")
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless browser (chromium) installed")
    page = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["eval", str(folder), "-k", "2", "-k", "3", "-m", "avg", "-m", "max",
                                      "-m", "dpid", "-j", "1", "-q", "--paper", "--format", "html",
                                      "-o", str(page)])
    assert result.exit_code == 0, result.output
    probe = page.read_text() + ("<script>document.body.setAttribute('data-overflow', "
                                "document.documentElement.scrollWidth - document.documentElement.clientWidth)</script>\n")
    page.write_text(probe)
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,900",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'data-overflow="0"' in dom, dom[-300:]


def test_super_resolution_conventions_from_the_cli(folder):
    """--channel y --shave k --filter matlab: stated in the report, and each row is what the
    pieces give for that image alone."""
    from dpdown.evaluation import resampling, similarity

    runner = CliRunner()
    base = ["eval", str(folder), "-k", "2", "-m", "avg", "-j", "1", "-q", "--format", "json"]
    result = runner.invoke(cli, base + ["--channel", "y", "--shave", "k", "--filter", "matlab"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["channel"], data["shave"], data["filter"]) == ("y", "k", "matlab")
    assert "luma Y of ITU-R BT.601" in data["protocol_text"] and "imresize" in data["protocol_text"]
    row = next(r for r in data["per_image"] if r["image"] == "a.png")
    original = evaluate.crop(evaluate.load(folder / "a.png"), 2)
    pooled = evaluate.pool(np.ascontiguousarray(original), 2, "avg")
    shown = resampling.resize(pooled, original.shape[:2], "matlab")
    expected = similarity.score(similarity.prepare(similarity.luma(original), 2), similarity.luma(shown))
    assert (row["ssim"], row["psnr"]) == pytest.approx(expected, abs=1e-12)
    for bad in (["--shave", "two"], ["--channel", "lab"]):
        refused = runner.invoke(cli, base + bad)
        assert refused.exit_code == 2 and "Traceback" not in refused.output, refused.output
