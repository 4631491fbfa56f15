"""The ``dpdown`` command line. Method options are generated from the registry."""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import signal
import sys
import threading
import time
import warnings

import click

from . import __version__
from .core.warmup import IMAGES
from .errors import DpdownError, Interrupted, ParameterError
from .evaluation import datasets, evaluate, report
from .io import batch
from .io.formats import FORMATS
from .io.read import DEFAULT_MAX_PIXELS
from .methods import registry

_KINDS = {"float": click.FLOAT, "int": click.INT, "floats": click.STRING,
          "path": click.Path(dir_okay=False, path_type=str)}


class _Cli(click.Group):
    """Every error becomes one line on stderr and an exit code: 2 for usage, 1 for processing,
    130 for Ctrl-C and 143 for SIGTERM (each after the partial files are removed)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
        try:
            rv = super().main(args, prog_name or "dpdown", complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            self._fail(exc.format_message(), exc.exit_code)
        except DpdownError as exc:
            self._fail(str(exc), exc.exit_code)
        except click.Abort as exc:  # what click makes of a KeyboardInterrupt outside a command
            self._fail("interrupted", getattr(exc.__cause__, "exit_code", 130))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            self._fail("interrupted", getattr(exc, "exit_code", 130))

    @staticmethod
    def _fail(message, code):
        click.echo(f"dpdown: error: {message}", err=True)
        sys.exit(code)


def _terminate(signum, frame):
    raise Interrupted(signum)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="dpdown")
def cli():
    """dpdown: detail-preserving image downscaling (DPID, DPP) and pooling operators.

    \b
    dpdown scale in.png -k 4 --method dpid -o small.png
    dpdown scale photos/ -r -o small/ --size 1920x
    dpdown methods
    dpdown eval --dataset photos -k 2 -k 3 -k 5
    dpdown fit photos/ -m dpp -k 2 -o dpp.json
    """


def _method_options(func):
    """One click option per parameter flag in the registry (shared by the methods that use it)."""
    for flag, users in reversed(list(registry.all_params().items())):
        first = users[0][1]
        if first.kind == "choice":
            choices = sorted({c for _, p in users for c in p.choices})
            ptype = click.Choice(choices)
        else:
            ptype = _KINDS[first.kind]
        same = {}  # methods whose parameter reads the same share one sentence
        for m, p in users:
            same.setdefault((p.help, _show(p.default)), []).append(m.name)
        text = " ".join(f"[{', '.join(names)}] {help} Default: {default}."
                        for (help, default), names in same.items())
        metavar = {"float": "X", "int": "N", "floats": "A,B,...", "path": "PATH"}.get(first.kind)
        func = click.option(flag, "opt_" + flag.lstrip("-").replace("-", "_"), type=ptype,
                            default=None, help=text, metavar=metavar)(func)
    return func


# Options that several commands share.
_DEVICE = click.option(
    "--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True, envvar="DPDOWN_DEVICE",
    help="Where the kernels run: cpu (all cores), cuda (an NVIDIA GPU; an error if there is none) or auto (the "
         "GPU when usable, else the CPU with a notice). Env: DPDOWN_DEVICE.")
_DASK = click.option(
    "--dask", metavar="ADDRESS", envvar="DPDOWN_DASK",
    help="Run one task per image on this Dask scheduler (e.g. tcp://host:8786; needs dpdown[dask]); inputs and "
         "outputs must be on paths every worker sees. Env: DPDOWN_DASK (DPDOWN_DASK_TIMEOUT: seconds to wait, "
         "default 10).")
_PROTOCOL = click.option(
    "--protocol", type=click.Choice(list(evaluate.PROTOCOLS)), default="upsample", show_default=True,
    help="How pooled and original images are compared: upsample (the pooled image brought back to full size "
         "by bicubic, against the original) or reference (against the original downscaled by Lanczos-3).")


def _sr_conventions(func):
    """``--channel``, ``--shave``, ``--filter``: the super-resolution literature's conventions."""
    from .evaluation import resampling

    func = click.option(
        "--filter", "resample_filter", type=click.Choice(list(resampling.FILTERS)), default="pillow",
        show_default=True, help="Resampling for the protocol: pillow (Pillow's bicubic up, Lanczos-3 down) or "
        "matlab (MATLAB's imresize bicubic, antialiased when shrinking, as the super-resolution papers).")(func)
    func = click.option(
        "--shave", default="0", show_default=True, metavar="N|k",
        help="Drop N pixels on every side of the compared images before scoring; k: the window size (the "
             "super-resolution papers' choice, the scale factor).")(func)
    return click.option(
        "--channel", type=click.Choice(list(evaluate.CHANNELS)), default="rgb", show_default=True,
        help="Score every colour channel (rgb) or the luma Y of ITU-R BT.601 YCbCr (y), as the "
             "super-resolution papers do.")(func)


def _protocol_of(compare, channel, shave, resample_filter) -> evaluate.Protocol:
    """The :class:`~dpdown.evaluation.evaluate.Protocol` of ``--protocol`` and the
    :func:`_sr_conventions` (``--shave`` a number of pixels or k), checked: a usage error
    before any image is read."""
    protocol = evaluate.Protocol(compare, channel, int(shave) if shave.isdigit() else shave, resample_filter)
    protocol.check()
    return protocol


def _image_sets(func):
    """``[FOLDER]...`` and ``--dataset NAME``: the images of eval and fit."""
    func = click.option("--dataset", "names", multiple=True, type=click.Choice(list(datasets.NAMED)),
                        help="A named offline dataset (repeatable); see 'dpdown datasets'.")(func)
    return click.argument("folders", nargs=-1, type=click.Path(path_type=str), metavar="[FOLDER]...")(func)


def _refuse_existing(path, overwrite):
    if os.path.exists(path) and not overwrite:
        raise click.UsageError(f"{path} exists (use --overwrite to replace it)")


def _show(value):
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _method_params(method, options, base=None):
    """The options given on the command line over ``base`` (a --params-file's), checked
    against the chosen method."""
    params = dict(base or {})
    for flag, users in registry.all_params().items():
        value = options.get("opt_" + flag.lstrip("-").replace("-", "_"))
        if value is None:
            continue
        mine = [p for m, p in users if m.name == method.name]
        if not mine:
            owners = ", ".join(m.name for m, _ in users)
            raise ParameterError(f"{flag} does not apply to method {method.name!r} (it is for {owners})")
        params[mine[0].name] = value
    return method.resolve(params)


def _print_whole(console, renderable):
    """Print a table; when not on a terminal (piped, redirected) at its full width, so that no
    cell a user may copy (a package name, an install command) is cut to fit 80 columns."""
    if not console.is_terminal:
        from rich.measure import Measurement

        widest = Measurement.get(console, console.options.update_width(10_000), renderable).maximum
        console.width = max(console.width, widest)
    console.print(renderable)


@contextlib.contextmanager
def _notices():
    """Warnings meant for the user (e.g. the CPU fallback of --device auto) as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        yield
    for w in caught:
        click.echo(f"dpdown: notice: {w.message}", err=True)


@cli.command(epilog="""\b
Examples:
  dpdown scale photo.png -k 4 --method dpid --lambda 1 -o small.png
  dpdown scale photo.png -k 4 --method dpp --lambda 1 --alpha 1 --variant asym -o out.png
  dpdown scale photo.png --size 640x -o out.png      # width 640, aspect kept
  dpdown scale photo.png --size 640x480 -o out.png   # exact size
  dpdown scale photo.png --scale 0.3 -o out.png      # non-integer factor
  dpdown scale photo.png -k 2 --stride 1 --method avg
  dpdown scale photos/ -r -o small/ --method dpid --size 1920x --jobs 4
  dpdown scale a.jpg b.png 'shots/**/*.tif' -o out/ -k 4 --method softpool
  dpdown scale photos/ -r -o small/ --skip-existing  # resume an interrupted run
  dpdown scale photos/ -r -o small/ --dask tcp://scheduler:8786
  dpdown scale photos/ -o small/ --device cuda --codec gpu --size 1920x

\b
INPUT is a file, a folder (its images; -r: and its subfolders') or a glob
pattern (quote it; ** crosses folders). Folders and patterns pick up files by
extension: .png .jpg .jpeg .tif .tiff .webp .bmp .gif. With one input file, -o
names the output file or a folder; with several, -o is a folder, created if
needed, under which the input tree is mirrored. Without -o each output goes
beside its input. Names follow --name (default {stem}_{method}_{tag}.{ext};
tag is k<k>, or <W>x<H> with --size/--scale). An existing file is never
replaced without --overwrite. One bad file is reported and the rest go on; the
exit status is 1 if any file failed, 130 (Ctrl-C) or 143 (SIGTERM) if the run
was interrupted: files being written finish, no partial file is left, and the
summary lists what was not done. With --device cuda and nvImageCodec installed
(dpdown[gpu-codecs]), JPEG is decoded and encoded on the GPU (--codec); other
files are read on the CPU. Run 'dpdown methods' for every method.""")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...", type=click.Path(allow_dash=True, path_type=str))
@click.option("-o", "--output", type=click.Path(allow_dash=True, path_type=str),
              help="Output file (format from its extension or --format), folder (a path ending in / is "
                   "created if missing), or - for standard output.")
@click.option("-k", type=click.IntRange(min=1), help="Window size: each output pixel pools a k×k window. With "
              "--operator or --params-file it defaults to the k the file was made for.")
@click.option("--stride", type=click.IntRange(min=1), help="Step between windows (default: k).")
@click.option("--size", "size", metavar="WxH", help="Exact output size; 640x or x480 keeps the aspect ratio.")
@click.option("--scale", "factor", type=click.FloatRange(min=0, max=1, min_open=True), metavar="F",
              help="Output size as a factor of the input, e.g. 0.3.")
@click.option("-m", "--method", default="dpid", show_default=True,
              type=click.Choice(list(registry.methods())), help="Downscaling method.")
@click.option("--channel-pool", type=click.Choice(["max", "min", "avg", "topk"]),
              help="Pool across channels first (feature pooling): max/min/avg over groups of "
                   "--channel-stride channels, or topk: the --channel-stride largest values per pixel. "
                   "Max over RGB is HSV's value. With -k 1 it is used alone.")
@click.option("--channel-stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Channels per group for --channel-pool (must divide the channel count), or how many "
                   "values topk keeps.")
@_DEVICE
@click.option("--codec", type=click.Choice(["auto", "cpu", "gpu"]), default="auto", show_default=True,
              envvar="DPDOWN_CODEC",
              help="Who decodes and encodes JPEG on the GPU (--device cuda): gpu (NVIDIA nvImageCodec, in GPU memory; "
                   "needs pip install 'dpdown[gpu-codecs]'; other formats, CMYK JPEG and files it fails on fall back to "
                   "the CPU decoder one by one, said with -v; an error if it cannot run at all), cpu (Pillow, as on the "
                   "CPU) or auto (gpu where nvImageCodec is installed and a GPU is present, else cpu). Pixels decoded "
                   "on the GPU may differ slightly from libjpeg-turbo's. Env: DPDOWN_CODEC.")
@click.option("-r", "--recursive", is_flag=True, help="Take the images of the folders' subfolders too.")
@click.option("--name", "name", default=batch.DEFAULT_NAME, show_default=True,
              help="Output file name template; fields: {stem} {ext} {method} {k} {size} (WxH) {tag}. May hold "
                   "subfolders (made as needed) but must stay inside the output folder.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS), case_sensitive=False),
              help="Output format (default: from -o's extension, or the input's for --name's {ext}, PNG if "
                   "that is not writable); needed for -o -. Must agree with -o's extension.")
@click.option("--quality", type=click.IntRange(1, 100), metavar="Q", help="JPEG/WebP quality, 1-100 (default 90).")
@click.option("--strip", is_flag=True, help="Drop metadata: ICC profile, EXIF, resolution (kept by default).")
@click.option("--linear", is_flag=True,
              help="Pool in linear light: decode sRGB before downscaling and encode after (avoids darkened "
                   "fine detail and dark halos; alpha is never decoded).")
@click.option("--max-pixels", type=click.IntRange(min=0), default=DEFAULT_MAX_PIXELS, show_default=True,
              metavar="N", help="Refuse images with more pixels than this (decompression-bomb guard); 0: no limit.")
@click.option("--memory-budget", metavar="BYTES", envvar="DPDOWN_MEMORY_BUDGET",
              help="Working memory before an image is processed in strips of rows (same result), "
                   "e.g. 512M, 4G. Default 2G. Env: DPDOWN_MEMORY_BUDGET.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files (even an input).")
@click.option("--skip-existing", is_flag=True, help="Leave existing output files alone (resume a run).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: one per core); "
              "each uses cores/jobs threads. With --device cuda: threads of one process, each on "
              "its own CUDA stream, so copies and kernels of different images overlap.")
@_DASK
@click.option("-q", "--quiet", is_flag=True, help="Print only failures.")
@click.option("-v", "--verbose", is_flag=True, help="Say every conversion made (CMYK, palette, orientation, "
              "bit depth, first frame).")
@click.option("--params-file", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Method and parameters from a 'dpdown fit' file; options given here override its values.")
@_method_options
def scale(inputs, output, k, stride, size, factor, method, channel_pool, channel_stride, device, codec, recursive,
          name, fmt, quality, strip, linear, max_pixels, memory_budget, overwrite, skip_existing, jobs, dask,
          quiet, verbose, params_file, **options):
    """Downscale images with a detail-preserving or pooling method."""
    from .core.memory_strips import parse_bytes
    from .io.one_file import FileOptions
    from .kernels import footprints

    fitted, recorded = {}, []  # recorded: (k, the file that records it)
    if params_file is not None:
        from .evaluation import fit

        fitted, fitted_k = fit.load_with_k(params_file)
        chosen = click.get_current_context().get_parameter_source("method")
        if chosen is not click.core.ParameterSource.DEFAULT and method != fitted["method"]:
            raise click.UsageError(f"--method {method} differs from {params_file}'s {fitted['method']}")
        method = fitted.pop("method")
        recorded.append((fitted_k, params_file))
    spec = registry.get(method)
    params = _method_params(spec, options, fitted)
    if method == "learned" and params.get("operator") is not None:
        from .methods.learned import load_operator

        recorded.append((load_operator(params["operator"]).k, params["operator"]))
    for file_k, path in recorded:
        if k is not None and file_k is not None and k != file_k:
            raise click.UsageError(f"-k {k} differs from the k = {file_k} that {path} was made for")
        if k is None and size is None and factor is None:
            k = file_k
    if sum(v is not None for v in (k, size, factor)) != 1:
        raise click.UsageError("give exactly one of -k, --size or --scale")
    if stride is not None and k is None:
        raise click.UsageError("--stride needs -k")
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing exclude each other")
    batch.check_name(name)
    args = dict(k=k, stride=stride, shape=footprints.parse_size(size) if size is not None else None, scale=factor,
                method=method, channel_pool=channel_pool, channel_size=channel_stride, device=device, linear=linear,
                memory_budget=None if memory_budget is None else parse_bytes(memory_budget), **params)
    files = FileOptions(fmt and fmt.lower(), quality, strip, max_pixels, overwrite, codec)
    job = batch.Job(args, files, name, skip_existing)
    single = len(inputs) == 1 and not os.path.isdir(inputs[0]) and \
        (os.path.exists(inputs[0]) or not glob.has_magic(inputs[0]))
    if single:
        _scale_one(job, inputs[0], output, verbose)
        return 0
    if output is not None and (output == "-" or os.path.exists(output) and not os.path.isdir(output)):
        raise click.UsageError(f"-o {output}: with several inputs, -o must be a folder")
    items = batch.collect(inputs, output, recursive)
    if not items:
        raise DpdownError("no image files found in " + ", ".join(inputs) + ("" if recursive else
                             " (use -r to look in subfolders)"))
    summary = _run_batch(job, items, jobs, dask, quiet, verbose)
    return 1 if summary.failures else 0


def _scale_one(job, source, output, verbose):
    """One file: errors are the run's error (its exit status), no summary."""
    from .io.write import format_for, remove_stale_parts

    if source == "-" and output is None:
        raise click.UsageError("reading standard input (-) needs -o FILE, or -o - with --format")
    out_dir, out_file = os.path.dirname(source) or ".", None
    if output is not None and (os.path.isdir(output) or output.endswith(("/", os.sep))):
        out_dir = output  # a folder, made if missing
    elif output is not None:
        format_for(output, job.files.format)  # an unknown format is an error before any work is done
        out_file = output
    from .io.gpu_codecs import on_cuda, resolve

    # as batch.run does: codec gpu that cannot run is one error, auto is settled here
    codec = resolve(job.files.codec, "cuda" if on_cuda(job.downscale.get("device", "cpu")) else "cpu")
    job = dataclasses.replace(job, files=dataclasses.replace(job.files, codec=codec))
    try:
        with _notices():
            outcome = batch.process(job, batch.Item(source, out_dir, out_file))
    finally:  # what a run killed outright (SIGKILL) left there
        remove_stale_parts(os.path.dirname(out_file) if out_file else out_dir)
    if outcome.status == "failed":
        exc = DpdownError(outcome.reason)
        exc.exit_code = outcome.exit_code
        raise exc
    if verbose:
        for note in outcome.notes:
            click.echo(f"dpdown: {source}: {note}", err=True)
    click.echo(f"{source} -> {outcome.target} ({job.downscale['method']})" + (" skipped: exists" if
               outcome.status == "skipped" else ""), err=True)


def _run_batch(job, items, jobs, dask, quiet, verbose):
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    live = console.is_terminal and not quiet
    interrupted = None
    with _notices(), _progress(console, len(items), live) as advance:
        def report(outcome):
            advance()
            if outcome.status == "failed":
                console.print(f"[red]failed[/red] {escape(outcome.reason)}")
            elif not quiet and not live:
                console.print(f"{outcome.status} {escape(outcome.source)} -> {escape(outcome.target)}")
            if verbose:
                for note in outcome.notes:
                    console.print(f"dpdown: {escape(outcome.source)}: {escape(note)}")
        try:
            summary = batch.run(job, items, jobs, dask, report)
        except Interrupted as exc:
            interrupted, summary = exc, exc.summary
    if not quiet or interrupted:
        _print_summary(console, summary)
    if interrupted:
        raise interrupted
    return summary


@contextlib.contextmanager
def _progress(console, total, live, label="downscaling"):
    """A progress bar (count, a note, time left) on a terminal; nothing otherwise. Yields
    ``advance(done=None, note=None)``: one more done (the note: items per second), or
    ``done`` in all with the caller's note."""
    if not live:
        yield lambda done=None, note=None: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=total, note="")

        def advance(done=None, note=None):
            if done is None:
                progress.advance(task)
                speed = progress.tasks[0].speed
                note = f"{speed:.1f} images/s" if speed else ""
            else:
                progress.update(task, completed=min(done, total))
            progress.update(task, note=note)
        yield advance


def _print_summary(console, summary):
    from rich.markup import escape
    from rich.table import Table

    shares = summary.shares()
    table = Table("done", "skipped", "failed", "time", "MP/s", "decode / compute / encode", title="dpdown scale")
    table.add_row(str(summary.count("done")), str(summary.count("skipped")), str(summary.count("failed")),
                  f"{summary.wall:.1f} s", f"{summary.megapixels_per_second:.1f}",
                  " / ".join(f"{100 * shares[s]:.0f} %" for s in ("decode", "compute", "encode")))
    console.print(table)
    for outcome in summary.failures:
        console.print(f"  [red]✗[/red] {escape(outcome.reason)}")
    if summary.unfinished:
        console.print(f"interrupted: {len(summary.unfinished)} files not done (rerun with --skip-existing to "
                      "finish them): " + ", ".join(escape(s) for s in summary.unfinished[:5])
                      + (", ..." if len(summary.unfinished) > 5 else ""))


@cli.command(epilog="""\b
Example:
  dpdown learn digits/ -k 2 --tile 8 --alpha 25 --norm l2 -o operator.npz
  dpdown scale in.png --method learned --operator operator.npz -k 2 -o out.png

\b
DATASET has one subfolder per class, with its images (subfolders of a class
count for it). Every image is cut into tile×tile tiles (a partial edge tile is
left out); all images must have the same number of channels.""")
@click.argument("dataset", type=click.Path(path_type=str))
@click.option("-k", type=click.IntRange(min=1), required=True, help="Downscaling factor of the operator.")
@click.option("--tile", type=click.IntRange(min=1), default=16, show_default=True,
              help="Tile size (a multiple of k): the operator maps tile² pixels to (tile/k)² outputs.")
@click.option("--alpha", type=click.FloatRange(min=0), default=25.0, show_default=True,
              help="Locality penalty α: larger keeps each output's weights nearer its own k×k block.")
@click.option("--norm", type=click.Choice(["l1", "l2"]), default="l2", show_default=True,
              help="Normalisation of each output's weights.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), required=True,
              help="Operator file to write (.npz).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def learn(dataset, k, tile, alpha, norm, output, overwrite):
    """Learn a pooling operator from labelled images (closed form: Birodkar et al., arXiv 2019, Algorithm 1)."""
    from .evaluation import learning

    _refuse_existing(output, overwrite)
    op = learning.learn_arrays(learning.dataset(dataset), k, tile, alpha, norm)
    learning.save(op, output, overwrite)
    click.echo(f"{output}: {op.weights.shape[0]}×{op.weights.shape[1]} operator (k={k}, tile={tile}, "
               f"α={alpha:g}, {norm}) from {op.images} images of {len(op.classes)} classes", err=True)


@cli.command("eval", epilog="""\b
Examples:
  dpdown eval ~/data/DIV2K_valid_HR ~/data/Urban100 -k 2 -k 3 -k 5
  dpdown eval --dataset photos --dataset urban -m avg -m max -m softpool -m dpp -m dpid --format markdown
  dpdown eval --dataset photos -m dpp:lambda=2:variant=asym -m ordinal:pool-range=3:weights=1,2,3 --paper
  dpdown eval photos/ --output report/ --format html     # tables, plots, crop grid
  dpdown eval --dataset urban --limit 3 -k 2             # a quick look

\b
For every image × k × method: crop the image to a multiple of k, downscale it,
compare with the original by SSIM and PSNR (--protocol says how; every report
states it), then average per dataset × k × method. FOLDER is searched
recursively; folders named like DIV2K, Urban100, Manga109 or Flickr2K are
recognised (their HR images only). 'dpdown datasets' lists the named offline
sets. -o DIR writes report.<format> (table: Markdown), summary.csv and
images.csv (every image's figures) there; -o NAME.json (.md, .csv, .html)
writes that report, with NAME-summary.csv and NAME-images.csv beside it. Exit
status 1 if any image failed.""")
@_image_sets
@click.option("-k", "ks", multiple=True, type=click.IntRange(min=2),
              help="Window size, repeatable. Default: 2, 3 and 5, as SoftPool's Table 1.")
@click.option("-m", "--method", "method_texts", multiple=True, metavar="NAME[:key=value...]",
              help="Method with optional parameters, repeatable, e.g. dpp:lambda=2:variant=asym. Default: every "
                   "method that needs no file (" + ", ".join(m.name for m in evaluate.default_methods()) + ").")
@_PROTOCOL
@_sr_conventions
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="table", show_default=True,
              help="table: the rich table on the terminal; csv, json, markdown, html (with plots and crops; "
                   "needs dpdown[report]).")
@click.option("-o", "--output", type=click.Path(path_type=str),
              help="Folder for report.<format>, summary.csv and images.csv (created if needed), or a report "
                   "file (.md, .csv, .json, .html: its format unless --format says otherwise; "
                   "<stem>-summary.csv and <stem>-images.csv go beside it).")
@click.option("--paper", is_flag=True, help="Show SoftPool's published figures beside ours, in separate "
              "columns labelled 'paper', for datasets standing for DIV2K, Urban100, Manga109 or Flickr2K.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the first N images of each dataset.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: one per core).")
@_DASK
@_DEVICE
@click.option("--overwrite", is_flag=True, help="Replace report files already in --output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or per-image lines.")
def eval_cmd(folders, names, ks, method_texts, protocol, channel, shave, resample_filter, fmt, output, paper, limit,
             jobs, dask, device, overwrite, quiet):
    """Measure how much of each image every method keeps: SSIM/PSNR tables (SoftPool's Table 1)."""
    from rich.console import Console
    from rich.markup import escape

    specs = [evaluate.parse_method(text) for text in method_texts] or None  # usage errors before any image
    protocol = _protocol_of(protocol, channel, shave, resample_filter)
    with _notices():  # said now, before the run: e.g. only part of a named set installed
        sets = datasets.resolve(folders, names)
    ks = ks or evaluate.DEFAULT_KS
    chosen = click.get_current_context().get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT
    targets = _report_targets(output, fmt, chosen) if output is not None else {}
    for path in targets.values():
        _refuse_existing(path, overwrite)
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    live = console.is_terminal and not quiet
    total = sum(min(len(paths), limit or len(paths)) for _, _, paths in sets)
    if not quiet:
        per_set = ", ".join(f"{escape(label)}: {min(len(paths), limit or len(paths))}" for label, _, paths in sets)
        count = len(specs or evaluate.default_methods())
        console.print(f"evaluating {total} images ({per_set}) × {count} method{'s' * (count != 1)} × "
                      f"k = {', '.join(map(str, ks))}; first the kernels are compiled, in parallel (only once "
                      "on this machine)")
    finished = 0
    with _notices(), _progress(console, total, live, "evaluating") as advance:
        def progress(result):
            nonlocal finished
            finished += 1
            advance()
            if result.error:
                console.print(f"[red]failed[/red] {escape(result.error)}")
            elif not quiet and not live:
                console.print(f"[{finished}/{total}] done {escape(result.path)}")
        def compiled(result):
            if isinstance(result[1], str):
                console.print(f"[red]failed[/red] compiling {escape(result[0].label())}: {escape(result[1])}")
        evaluation = evaluate.run(sets, ks, specs, protocol, jobs, dask, limit, device, progress, compiled)
    if output is not None:
        _write_reports(evaluation, targets, paper, overwrite)
        console.print(f"wrote {', '.join(escape(path) for path in targets.values())}")
    elif fmt == "table":
        _print_whole(Console(highlight=False), report.rich_table(evaluation, paper))
    else:
        click.echo(_render(evaluation, fmt, paper), nl=False)
    if not quiet:
        console.print(f"{evaluation.images} images ({evaluation.pixels / 1e6:.1f} MP), {len(evaluation.failures)} "
                      f"failed, {evaluation.wall:.1f} s")
    return 1 if evaluation.failures else 0


_REPORT_EXT = {"table": "md", "markdown": "md", "csv": "csv", "json": "json", "html": "html"}
_EXT_FORMAT = {"md": "markdown", "csv": "csv", "json": "json", "html": "html"}


def _report_targets(output, fmt, chosen):
    """``{format: path}`` of the report and the two CSVs: in folder ``output``, or, where
    ``output`` names a report file by its extension, that file (its format, unless ``--format``
    was ``chosen``, which must then agree) with its CSVs beside it."""
    stem, ext = os.path.splitext(output)
    ext = ext.lower().lstrip(".")
    if ext not in _EXT_FORMAT or os.path.isdir(output):
        return {fmt: os.path.join(output, f"report.{_REPORT_EXT[fmt]}"),
                "summary": os.path.join(output, "summary.csv"), "images": os.path.join(output, "images.csv")}
    if chosen and _REPORT_EXT[fmt] != ext:
        raise click.UsageError(f"--format {fmt} does not match -o {output}: use a .{_REPORT_EXT[fmt]} file or a folder")
    fmt = fmt if chosen else _EXT_FORMAT[ext]
    return {fmt: output, "summary": f"{stem}-summary.csv", "images": f"{stem}-images.csv"}


def _render(evaluation, fmt, paper):
    if fmt in ("table", "markdown"):
        return report.markdown(evaluation, paper)
    if fmt == "csv":
        return report.summary_csv(evaluation)
    if fmt == "json":
        return report.to_json(evaluation) + "\n"
    return report.to_html(evaluation, paper)


def _write_reports(evaluation, targets, paper, overwrite):
    from .io.write import write_atomic

    for kind, path in targets.items():
        text = report.summary_csv(evaluation) if kind == "summary" else report.images_csv(evaluation) \
            if kind == "images" else _render(evaluation, kind, paper)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        write_atomic(path, lambda stream, text=text: stream.write(text.encode()), overwrite)


@cli.command("fit", epilog="""\b
Examples:
  dpdown fit photos/ --method dpp -k 2 --params alpha,lambda --metric ssim -o dpp-fitted.json
  dpdown fit --dataset urban --method dpp:guide=full -k 2 --params filter -o full-dpp.json
  dpdown fit photos/ --method gated -k 2 --params gate-weights --metric psnr -o gated.json
  dpdown fit ~/data/Urban100 -m dpid -k 2 --channel y --shave k --filter matlab -o dpid-y.json
  dpdown scale in.png -k 2 --params-file dpp-fitted.json -o out.png

\b
The images (FOLDER, recursive, and/or --dataset) are split by a seeded shuffle
into training and held-out images; each gives its centre --patch. SciPy's
bounded Powell search maximises the mean metric over the training patches,
scored exactly as 'dpdown eval' scores an image under the same --protocol,
--channel, --shave and --filter; the file records the method, all its
parameters, the metric on both splits for the defaults and the fitted values,
the data and the protocol. --method may fix other parameters:
dpp:guide=full:variant=asym.""")
@_image_sets
@click.option("-m", "--method", "method_text", required=True, metavar="NAME[:key=value...]",
              help="The method, with any parameters to hold fixed.")
@click.option("-k", type=click.IntRange(min=2), required=True, help="Window size (stride k).")
@click.option("--params", "param_names", metavar="A,B,...",
              help="Parameters to fit, by option name (alpha,lambda,filter,beta,p,mix,gate-weights,weights...). "
                   "Default: the method's continuous scalars.")
@click.option("--metric", default="ssim", show_default=True, metavar="ssim|psnr|MODULE:FUNC",
              help="What to maximise: ssim, psnr, or a function f(original, pooled_as_compared) → float.")
@_PROTOCOL
@_sr_conventions
@click.option("--held-out", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.3,
              show_default=True, help="Share of the images held out for the report.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@click.option("--patch", type=click.IntRange(min=0), default=256, show_default=True,
              help="Centre patch of each image used (0: the whole image).")
@click.option("--max-evals", type=click.IntRange(min=1), default=100, show_default=True,
              help="Most evaluations of the objective.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=str), required=True,
              help="Parameters file to write (JSON).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or result table.")
def fit_cmd(folders, names, method_text, k, param_names, metric, protocol, channel, shave, resample_filter, held_out,
            seed, patch, max_evals, output, overwrite, quiet):
    """Fit a method's continuous parameters to images by the evaluation metric."""
    from rich.console import Console
    from rich.table import Table

    from .evaluation import fit

    protocol = _protocol_of(protocol, channel, shave, resample_filter)
    _refuse_existing(output, overwrite)
    sets = datasets.resolve(folders, names)
    chosen = [n.strip() for n in param_names.split(",") if n.strip()] if param_names else None
    console = Console(stderr=True, highlight=False)
    live = console.is_terminal and not quiet
    with _notices(), _progress(console, max_evals, live, "fitting") as advance:
        result = fit.fit(sets, method_text, k, chosen, metric, protocol, held_out, seed, patch, max_evals,
                         lambda evaluations, best: advance(evaluations, f"best {best:.4f}"))
    result.save(output, overwrite)
    if not quiet:
        table = Table("split", "images", f"default {metric}", f"fitted {metric}", title=f"dpdown fit {result.method}")
        for label, row in (("training", result.train), ("held-out", result.held_out)):
            table.add_row(label, str(row["images"]), f"{row['default']:.4f}", f"{row['fitted']:.4f}")
        console.print(table)
        console.print(f"k = {result.k}, protocol {result.protocol}, channel {result.channel}, shave {result.shave}, "
                      f"filter {result.filter}")
        shown = ", ".join(f"{n}={_show(result.params[n])}" for n in result.fitted)
        console.print(f"{shown} after {result.evaluations} evaluations, {result.seconds:.1f} s -> {output}")


@cli.command("compile", epilog="""\b
Examples:
  dpdown compile                        # every method, common settings
  dpdown compile dpid dpp -k 2 -k 4     # two methods at two window sizes
  dpdown compile --image rgbf32 -j 2    # float32 RGB, as dpdown eval uses

\b
Each method is run once on a small image of every kind asked for (window size,
or a coverage footprint for --size/--scale; dtype, channels), in parallel
worker processes; the compiled kernels are saved in the disk cache, so later
runs, in any process, start without waiting for the compiler. dpdown scale
batches and dpdown eval compile what they need this way by themselves.""")
@click.argument("methods", nargs=-1, metavar="[METHOD]...")
@click.option("-k", "ks", multiple=True, type=click.IntRange(min=1),
              help="Window size, repeatable. Default: 2, 3, 4 and 5, and a coverage footprint.")
@click.option("--coverage/--no-coverage", default=None,
              help="Also compile for --size/--scale's coverage footprint (default: yes, unless -k is given).")
@click.option("--image", "images", multiple=True, type=click.Choice(list(IMAGES)),
              help="Image kind, repeatable: rgb8, rgba8, grey8 (uint8), rgb16 (uint16), rgbf32, greyf32 (float32). "
                   "Default: rgb8, rgba8 and rgbf32.")
@_DEVICE
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: one per core).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def compile_cmd(methods, ks, coverage, images, device, jobs, quiet):
    """Compile kernels ahead of time, in parallel, so that no later run waits for the compiler."""
    from rich.console import Console

    from .core import warmup
    from .kernels import device as devices

    chosen = list(methods) or registry.standalone()
    for name in chosen:
        registry.get(name)  # an unknown method is a usage error before any work
    geometries = list(ks or warmup.DEFAULT_GEOMETRIES[:-1])
    if coverage or (coverage is None and not ks):
        geometries.append(warmup.COVERAGE)
    kinds = warmup.kinds(chosen, geometries, images or warmup.DEFAULT_IMAGES, devices.resolve(device))
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    failed = []
    with _notices(), _progress(console, len(kinds), console.is_terminal and not quiet, "compiling") as advance:
        def done(result):
            advance()
            if isinstance(result[1], str):
                failed.append(result)
                console.print(f"[red]failed[/red] {result[0].label()}: {result[1]}")
        start = time.perf_counter()
        results = batch.compile_ahead(kinds, jobs, done)
    if not quiet:
        busy = sum(r[1] for r in results if not isinstance(r[1], str))
        console.print(f"{len(results) - len(failed)} of {len(kinds)} compiled in {time.perf_counter() - start:.1f} s "
                      f"({busy:.1f} s of compiling in the workers)")
    return 1 if failed else 0


@cli.command("datasets")
@click.argument("name", required=False, type=click.Choice(list(datasets.NAMED)))
def datasets_cmd(name):
    """List the named offline datasets for 'dpdown eval', or one set's images with their licences."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    if name is not None:
        d = datasets.NAMED[name]
        console.print(f"[bold]{escape(d.label)}[/bold] — {escape(d.description)}")
        table = Table("image", "package", "licence", "author", "installed")
        for e in d.entries:
            table.add_row(escape(e.path), e.package, escape(e.licence), escape(e.author),
                          "yes" if os.path.isfile(e.location) else "no")
        _print_whole(console, table)
        return
    table = Table("dataset", "stands for", "images installed", "packages", "to install", show_lines=True)
    for d in datasets.NAMED.values():
        missing = d.missing_packages()
        table.add_row(d.name, d.paper or "—", f"{len(d.installed())} / {len(d.entries)}", "\n".join(d.packages),
                      escape(datasets.apt_command(missing)) if missing else "installed")
    _print_whole(console, table)
    console.print(f"Images are found under {escape(datasets.root())} (set DPDOWN_DATASETS_ROOT to use packages "
                  "unpacked elsewhere, e.g. with 'apt-get download' and 'dpkg-deb -x'). Use 'dpdown eval "
                  "--dataset NAME'; 'dpdown datasets NAME' lists the images and their licences.")


@cli.command("methods")
@click.argument("name", required=False)
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (as in the README).")
def methods_cmd(name, markdown):
    """List the methods with their parameters and papers, or show one with its formula."""
    if markdown:
        click.echo(registry.markdown_table())
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    table_of = registry.methods()
    if name is not None:
        spec = registry.get(name)
        console.print(f"[bold]{spec.name}[/bold] — {escape(spec.summary)}\n")
        console.print(f"[bold]Formula[/bold]  {escape(spec.formula)}")
        console.print(f"[bold]Paper[/bold]    {escape(spec.paper)}")
        if spec.notes:
            console.print(f"[bold]Notes[/bold]    {escape(spec.notes)}")
        params = Table("option", "default", "range", "meaning")
        for p in spec.params:
            params.add_row(p.cli_flag, _show(p.default), escape(p.describe_range()), escape(p.help))
        if spec.params:
            _print_whole(console, params)
        return
    table = Table("method", "parameters (option=default)", "what it does", "paper", show_lines=True)
    for spec in table_of.values():
        params = "\n".join(f"{p.cli_flag}={_show(p.default)}" for p in spec.params) or "—"
        table.add_row(spec.name, params, escape(spec.summary), escape(spec.paper))
    _print_whole(console, table)


def main():
    cli()
