"""Reports of ``dpdown eval``: Table-1-shaped tables (terminal, Markdown, HTML), CSV and JSON.

Every report states the protocol. The table has the methods as rows and dataset × k ×
{SSIM, PSNR} as columns, the best value of each column in bold; with ``paper=True`` each
dataset that stands for one of SoftPool's gets the paper's figures beside dpdown's, in
columns labelled "paper" (other data, unstated protocol: a reference, not a result).
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import io
import json
import math

import numpy as np

from .._version import __version__
from . import paper_values

FORMATS = ("table", "csv", "json", "markdown", "html")


@dataclasses.dataclass(frozen=True)
class Column:
    dataset: str
    k: int
    metric: str      # "ssim" or "psnr"
    paper: bool = False


def grid(evaluation, paper=False):
    """``(columns, {method: [value or None per column]}, best)``: the Table-1 layout, ``best``
    the set of (method, column index) holding each of dpdown's columns' maximum."""
    summary = {(a.dataset, a.k, a.method): a for a in evaluation.summary()}
    columns = []
    for dataset, paper_name in evaluation.datasets:
        for k in evaluation.ks:
            columns += [Column(dataset, k, "ssim"), Column(dataset, k, "psnr")]
            if paper and paper_values.covers(paper_name, k):
                columns += [Column(dataset, k, "ssim", True), Column(dataset, k, "psnr", True)]
    values = {}
    for method in evaluation.methods:
        row = []
        for col in columns:
            a = summary.get((col.dataset, col.k, method))
            if a is None or (col.paper and a.paper is None):
                row.append(None)
            else:
                row.append(a.paper[col.metric == "psnr"] if col.paper else getattr(a, f"{col.metric}_mean"))
        values[method] = row
    best = set()
    for i, col in enumerate(columns):
        present = [(v[i], m) for m, v in values.items() if v[i] is not None and not col.paper]
        if present:
            top = max(v for v, _ in present)
            best |= {(m, i) for v, m in present if v == top}
    return columns, values, best


def _number(value, metric):
    if value is None:
        return "—"
    if math.isinf(value):
        return "inf"
    return f"{value:.4f}" if metric == "ssim" else f"{value:.2f}"


def _header(col, sep=" "):
    return sep.join((col.dataset, f"k={col.k}", f"{'paper ' if col.paper else ''}{col.metric.upper()}"))


def rich_table(evaluation, paper=False):
    from rich.table import Table
    from rich.text import Text

    columns, values, best = grid(evaluation, paper)
    table = Table(title="SSIM / PSNR (dB) between the original and the pooled images, mean over images",
                  caption=evaluation.protocol_text, caption_justify="left")
    table.add_column("method")
    for col in columns:
        table.add_column(Text(_header(col, "\n")),
                         justify="right",
                         style="dim italic" if col.paper else None)
    for method, row in values.items():
        table.add_row(method, *(Text(_number(v, c.metric), style="bold green" if (method, i) in best else "")
                                for i, (v, c) in enumerate(zip(row, columns))))
    return table


def markdown(evaluation, paper=False) -> str:
    columns, values, best = grid(evaluation, paper)
    lines = ["| method | " + " | ".join(_header(c) for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for method, row in values.items():
        cells = [_number(v, c.metric) for v, c in zip(row, columns)]
        cells = [f"**{text}**" if (method, i) in best else text for i, text in enumerate(cells)]
        lines.append(f"| `{method}` | " + " | ".join(cells) + " |")
    note = (" Columns headed \"paper\" are SoftPool's published figures (Table 1; Table 3 for Flickr2K) "
            "on the real benchmark sets under an unstated protocol: a reference, not comparable in absolute "
            "terms." if any(c.paper for c in columns) else "")
    return (f"Mean SSIM / PSNR (dB) over {evaluation.images - len(evaluation.failures)} images; best of each "
            f"column in bold.{note}\n\n" + "\n".join(lines) + f"\n\n{evaluation.protocol_text}\n")


SUMMARY_FIELDS = ("dataset", "k", "method", "images", "ssim_mean", "ssim_std", "psnr_mean", "psnr_std",
                  "paper_ssim", "paper_psnr", "protocol", "channel", "shave", "filter")
IMAGE_FIELDS = ("dataset", "image", "k", "method", "ssim", "psnr", "seconds")


def summary_records(evaluation):
    for a in evaluation.summary():
        yield dict(dataset=a.dataset, k=a.k, method=a.method, images=a.n, ssim_mean=a.ssim_mean,
                   ssim_std=a.ssim_std, psnr_mean=a.psnr_mean, psnr_std=a.psnr_std,
                   paper_ssim=a.paper[0] if a.paper else None, paper_psnr=a.paper[1] if a.paper else None,
                   **evaluation.protocol.options())


def _csv(records, fields) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return out.getvalue()


def summary_csv(evaluation) -> str:
    return _csv(summary_records(evaluation), SUMMARY_FIELDS)


def images_csv(evaluation) -> str:
    return _csv((dataclasses.asdict(r) for r in evaluation.rows), IMAGE_FIELDS)


def to_json(evaluation) -> str:
    def finite(value):  # JSON has no infinity: an identical pair's PSNR is null, said in the field name
        return None if isinstance(value, float) and math.isinf(value) else value

    return json.dumps({
        "dpdown": __version__, **evaluation.protocol.options(), "protocol_text": evaluation.protocol_text,
        "ks": list(evaluation.ks), "methods": evaluation.methods,
        "datasets": [{"label": label, "paper_dataset": paper} for label, paper in evaluation.datasets],
        "images": evaluation.images, "wall_seconds": round(evaluation.wall, 3),
        "summary": [{k: finite(v) for k, v in r.items()} for r in summary_records(evaluation)],
        "per_image": [{k: finite(v) for k, v in dataclasses.asdict(r).items()} for r in evaluation.rows],
        "failures": [{"path": p, "reason": reason} for p, reason in evaluation.failures],
        "note": "psnr is null where the images are identical (infinite PSNR)",
    }, indent=1)


# ---- HTML: table, plots, crops -------------------------------------------------------------

def _png(pixels) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def plots(evaluation) -> list[tuple[str, str]]:
    """One figure per dataset: SSIM and PSNR against k, a line per method (needs matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        from ..errors import ParameterError

        raise ParameterError("the HTML report's plots need matplotlib: pip install 'dpdown[report]'") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    summary = evaluation.summary()
    colours = matplotlib.colormaps["tab20"].colors  # 20 distinct colours; markers tell the rest apart
    figures = []
    for dataset, _ in evaluation.datasets:
        fig, axes = pyplot.subplots(1, 2, figsize=(12, 4.2))
        for i, method in enumerate(evaluation.methods):
            points = sorted((a.k, a.ssim_mean, a.psnr_mean) for a in summary
                            if a.dataset == dataset and a.method == method)
            if points:
                ks, ssim, psnr = zip(*points)
                style = dict(color=colours[i % len(colours)], marker="osD^v<>"[i % 7], label=method)
                axes[0].plot(ks, ssim, **style)
                axes[1].plot(ks, psnr, **style)
        for ax, name in zip(axes, ("SSIM", "PSNR (dB)")):
            ax.set_xlabel("k")
            ax.set_ylabel(name)
            ax.set_xticks(list(evaluation.ks))
            ax.grid(alpha=0.3)
        fig.suptitle(dataset)
        fig.tight_layout(rect=(0, 0, 0.84, 1))
        fig.legend(*axes[0].get_legend_handles_labels(), loc="center right", fontsize=8)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=96)
        pyplot.close(fig)
        figures.append((dataset, "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()))
    return figures


def disagreement_region(results, size):
    """Top-left corner (in the results' pixels) of the ``size×size`` block, on a grid of such
    blocks, where the methods' results (an iterable of equal H×W×C arrays) differ most: the
    largest mean, over the block's pixels and channels, of the standard deviation across
    methods. Flat areas and plain edges, which every method renders alike, score low; fine
    detail that some methods keep and others lose scores high. The spread is accumulated one
    result at a time (Welford), so the results need not be held together."""
    count, mean, spread = 0, None, None
    for result in results:
        result = np.asarray(result, np.float32)
        count += 1
        if mean is None:
            mean, spread = result.copy(), np.zeros_like(result)
            continue
        delta = result - mean
        mean += delta / count
        spread += delta * (result - mean)
    spread = np.sqrt(spread / count).mean(axis=2)
    h, w = spread.shape
    rows, cols = max(1, h // size), max(1, w // size)
    blocks = spread[:rows * size, :cols * size].reshape(rows, size, cols, size).mean(axis=(1, 3))
    i, j = np.unravel_index(np.argmax(blocks), blocks.shape)
    return int(i) * size, int(j) * size


def crops(path, specs, k, out_pixels=48):
    """The region of the image at ``path`` where the methods differ most at ``k``
    (:func:`disagreement_region`), downscaled by each: ``[(label, data URL)]``, the original
    first. Each result is kept as 8-bit pixels only."""
    from ..core.pipeline import downscale
    from .evaluate import crop, load

    def as_bytes(img):
        img = img if img.shape[2] != 1 else img[:, :, 0]
        return np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)

    pixels = crop(load(path), k)
    shown = []

    def results():
        for spec in specs:
            pooled = downscale(pixels, k, method=spec.name, has_alpha=False, **dict(spec.params))
            pooled = pooled if pooled.ndim == 3 else pooled[:, :, None]
            shown.append(as_bytes(pooled))
            yield pooled

    size = min(out_pixels, pixels.shape[0] // k, pixels.shape[1] // k)
    y, x = disagreement_region(results(), size)
    original = as_bytes(pixels[y * k:(y + size) * k, x * k:(x + size) * k])
    return [("original", _png(original))] + [(spec.label, _png(result[y:y + size, x:x + size]))
                                             for spec, result in zip(specs, shown)]


_STYLE = """body{font-family:system-ui,sans-serif;margin:1em auto;padding:0 1em;max-width:80em;color:#222}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}
th{background:#f4f4f4}.best{font-weight:bold;color:#060}.paper{color:#777;font-style:italic}
.plot{max-width:100%;height:auto}.crops{display:flex;flex-wrap:wrap;gap:8px}.crops figure{margin:0}
.crops img{width:144px;height:144px;image-rendering:pixelated}figcaption{font-size:12px;text-align:center}"""


def to_html(evaluation, paper=False, with_crops=True) -> str:
    columns, values, best = grid(evaluation, paper)
    head = "".join(f"<th class={'paper' if c.paper else 'ours'}>{html.escape(_header(c))}</th>"
                   for c in columns)
    body = []
    for method, row in values.items():
        cells = "".join(f"<td class={'paper' if c.paper else ('best' if (method, i) in best else 'ours')}>"
                        f"{_number(v, c.metric)}</td>" for i, (v, c) in enumerate(zip(row, columns)))
        body.append(f"<tr><td><code>{html.escape(method)}</code></td>{cells}</tr>")
    parts = ["<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width, initial-scale=1'>"
             f"<title>dpdown eval</title><style>{_STYLE}</style>",
             "<h1>How much of the image each method keeps</h1>",
             f"<p>{html.escape(evaluation.protocol_text, quote=False)}</p>",
             f"<p>{evaluation.images} images, {evaluation.pixels / 1e6:.1f} MP, {evaluation.wall:.1f} s; "
             f"dpdown {__version__}.</p>",
             f"<div class=scroll><table><tr><th>method</th>{head}</tr>{''.join(body)}</table></div>"]
    if any(c.paper for c in columns):
        parts.append("<p class=paper>Grey columns: SoftPool's published figures (Stergiou et al., ICCV 2021, "
                     "Table 1; Table 3 for Flickr2K) on the real benchmark sets, under a protocol the paper does "
                     "not state. A reference, not a result of this run.</p>")
    parts.append("<h2>SSIM and PSNR against k</h2>")
    parts += [f"<img class=plot alt='{html.escape(name)}: mean SSIM and PSNR of each method against k' "
              f"src='{url}'>" for name, url in plots(evaluation)]
    for dataset, path in evaluation.samples.items() if with_crops else ():
        for k in evaluation.ks:
            parts.append(f"<h2>{html.escape(dataset)}: one region, k = {k}</h2><p>{html.escape(path)}: the block "
                         "where the methods' results differ most, each enlarged without interpolation.</p>"
                         "<div class=crops>")
            parts += [f"<figure><img alt='{html.escape(label)}, k = {k}' src='{url}'>"
                      f"<figcaption>{html.escape(label)}</figcaption></figure>"
                      for label, url in crops(path, evaluation.specs, k)]
            parts.append("</div>")
    if evaluation.failures:
        parts.append("<h2>Failures</h2><ul>" + "".join(f"<li>{html.escape(reason)}</li>"
                                                         for _, reason in evaluation.failures) + "</ul>")
    return "\n".join(parts) + "\n"
