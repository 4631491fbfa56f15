"""The ``dpdown`` command line. Method options are generated from the registry."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import click

from . import __version__, registry
from .errors import DpdownError, ParameterError
from .read import DEFAULT_MAX_PIXELS
from .write import FORMATS

_KINDS = {"float": click.FLOAT, "int": click.INT, "floats": click.STRING}


class _Cli(click.Group):
    """Every error becomes one line on stderr and an exit code: 2 for usage, 1 for processing."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            rv = super().main(args, prog_name or "dpdown", complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            self._fail(exc.format_message(), exc.exit_code)
        except DpdownError as exc:
            self._fail(str(exc), exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            self._fail("interrupted", 130)
        sys.exit(rv if isinstance(rv, int) else 0)

    @staticmethod
    def _fail(message, code):
        click.echo(f"dpdown: error: {message}", err=True)
        sys.exit(code)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="dpdown")
def cli():
    """dpdown: detail-preserving image downscaling (DPID, DPP) and pooling operators.

    \b
    dpdown scale in.png -k 4 --method dpid -o small.png
    dpdown methods
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
        metavar = {"float": "X", "int": "N", "floats": "A,B,..."}.get(first.kind)
        func = click.option(flag, "opt_" + flag.lstrip("-").replace("-", "_"), type=ptype,
                            default=None, help=text, metavar=metavar)(func)
    return func


def _show(value):
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _method_params(method, options):
    """The options given on the command line, checked against the chosen method."""
    params = {}
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


@contextlib.contextmanager
def _notices():
    """Warnings meant for the user (e.g. the CPU fallback of --device auto) as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        yield
    for w in caught:
        click.echo(f"dpdown: notice: {w.message}", err=True)


def _default_output(src, method, k, shape, fmt=None):
    from .write import EXTENSIONS

    stem, ext = os.path.splitext(os.path.basename(src))
    if fmt is not None:
        ext = EXTENSIONS[FORMATS[fmt.lower()]]
    tag = f"k{k}" if k is not None else f"{shape[1]}x{shape[0]}"
    return f"{stem}_{method}_{tag}{ext or '.png'}"


@cli.command(epilog="""\b
Examples:
  dpdown scale photo.png -k 4 --method dpid --lambda 1 -o small.png
  dpdown scale photo.png -k 4 --method dpp --lambda 1 --alpha 1 --variant asym -o out.png
  dpdown scale photo.png --size 640x -o out.png      # width 640, aspect kept
  dpdown scale photo.png --size 640x480 -o out.png   # exact size
  dpdown scale photo.png --scale 0.3 -o out.png      # non-integer factor
  dpdown scale photo.png -k 2 --stride 1 --method avg
  dpdown scale photo.jpg -k 4 --linear --quality 95 -o small.jpg
  cat scan.tif | dpdown scale - -k 4 -o - --format png > small.png

Without -o the output is written beside the input as <stem>_<method>_k<k>.<ext>
(or _<W>x<H> for --size/--scale). An existing file is never replaced without
--overwrite. The ICC profile and EXIF are kept (orientation applied to the
pixels), 16-bit stays 16-bit in PNG and TIFF; see README "Colour, alpha and
metadata". Run 'dpdown methods' for every method and its parameters.""")
@click.argument("input", type=click.Path(dir_okay=True, allow_dash=True, path_type=str))
@click.option("-o", "--output", type=click.Path(allow_dash=True, path_type=str),
              help="Output file (format from its extension or --format), folder, or - for standard output.")
@click.option("-k", type=click.IntRange(min=1), help="Window size: each output pixel pools a k×k window.")
@click.option("--stride", type=click.IntRange(min=1), help="Step between windows (default: k).")
@click.option("--size", "size", metavar="WxH", help="Exact output size; 640x or x480 keeps the aspect ratio.")
@click.option("--scale", "factor", type=click.FloatRange(min=0, max=1, min_open=True), metavar="F",
              help="Output size as a factor of the input, e.g. 0.3.")
@click.option("-m", "--method", default="dpid", show_default=True,
              type=click.Choice(list(registry.methods())), help="Downscaling method.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file (even the input).")
@click.option("--channel-pool", type=click.Choice(["max", "min", "avg", "topk"]),
              help="Pool across channels first (feature pooling): max/min/avg over groups of "
                   "--channel-stride channels, or topk: the --channel-stride largest values per pixel. "
                   "Max over RGB is HSV's value. With -k 1 it is used alone.")
@click.option("--channel-stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Channels per group for --channel-pool (must divide the channel count), or how many "
                   "values topk keeps.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True,
              envvar="DPDOWN_DEVICE", help="Where the kernels run: cpu (all cores), cuda (an NVIDIA GPU; "
              "an error if there is none) or auto (the GPU when usable, else the CPU with a notice). "
              "Env: DPDOWN_DEVICE.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS), case_sensitive=False),
              help="Output format (default: from the output's extension; needed for -o -).")
@click.option("--quality", type=click.IntRange(1, 100), metavar="Q",
              help="JPEG/WebP quality, 1-100 (default 90).")
@click.option("--strip", is_flag=True, help="Drop metadata: ICC profile, EXIF, resolution (kept by default).")
@click.option("--linear", is_flag=True,
              help="Pool in linear light: decode sRGB before downscaling and encode after (avoids darkened "
                   "fine detail and dark halos; alpha is never decoded).")
@click.option("--max-pixels", type=click.IntRange(min=0), default=DEFAULT_MAX_PIXELS, show_default=True,
              metavar="N",
              help="Refuse images with more pixels than this (decompression-bomb guard); 0: no limit.")
@click.option("--memory-budget", metavar="BYTES", envvar="DPDOWN_MEMORY_BUDGET",
              help="Working memory before the image is processed in strips of rows (same result), "
                   "e.g. 512M, 4G. Default 2G. Env: DPDOWN_MEMORY_BUDGET.")
@click.option("-v", "--verbose", is_flag=True, help="Say every conversion made (CMYK, palette, orientation, "
              "bit depth, first frame).")
@_method_options
def scale(input, output, k, stride, size, factor, method, overwrite, channel_pool, channel_stride, device,
          fmt, quality, strip, linear, max_pixels, memory_budget, verbose, **options):
    """Downscale INPUT with a detail-preserving or pooling method."""
    from . import footprints
    from .files import FileOptions, scale_file
    from .strips import parse_bytes
    from .write import format_for

    spec = registry.get(method)
    params = _method_params(spec, options)
    if sum(v is not None for v in (k, size, factor)) != 1:
        raise click.UsageError("give exactly one of -k, --size or --scale")
    if stride is not None and k is None:
        raise click.UsageError("--stride needs -k")
    out_size = footprints.parse_size(size) if size is not None else None
    if input == "-" and output is None:
        raise click.UsageError("reading standard input (-) needs -o FILE, or -o - with --format")
    if output is not None and not os.path.isdir(output):
        format_for(output, fmt)  # an unknown format is an error before any work is done
    file_options = FileOptions(format=fmt, quality=quality, strip=strip, max_pixels=max_pixels,
                               overwrite=overwrite)
    args = dict(k=k, stride=stride, shape=out_size, scale=factor, method=method, channel_pool=channel_pool,
                channel_size=channel_stride, device=device, linear=linear,
                memory_budget=None if memory_budget is None else parse_bytes(memory_budget), **params)
    if output is None or os.path.isdir(output):  # the name carries the output size
        def target(out_shape):
            return os.path.join(output or os.path.dirname(input),
                                _default_output(input, method, k, out_shape, fmt))
    else:
        target = output
    with _notices():
        report = scale_file(input, target, file_options, **args)
    if verbose:
        for note in report.notes:
            click.echo(f"dpdown: {report.source}: {note}", err=True)
    (w, h), (ow, oh) = report.in_size, report.out_size
    click.echo(f"{input} ({w}x{h}) -> {report.target} ({ow}x{oh}, {method})", err=True)


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
            console.print(params)
        return
    table = Table("method", "parameters (option=default)", "what it does", "paper", show_lines=True)
    for spec in table_of.values():
        params = "\n".join(f"{p.cli_flag}={_show(p.default)}" for p in spec.params) or "—"
        table.add_row(spec.name, params, escape(spec.summary), escape(spec.paper))
    console.print(table)


def main():
    cli()
