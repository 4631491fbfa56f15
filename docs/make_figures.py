"""Regenerate the README's comparison pictures: python docs/make_figures.py"""

import pathlib

import numpy as np
from PIL import Image, ImageDraw

import dpdown
from dpdown.methods import registry

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"


def panel(pixels, label, zoom_box, zoom):
    """The downscaled image with its zoomed crop below, nearest-neighbour enlarged."""
    small = Image.fromarray(pixels)
    x, y, w, h = zoom_box
    crop = small.crop((x, y, x + w, y + h)).resize((w * zoom, h * zoom), Image.NEAREST)
    canvas = Image.new("RGB", (max(small.width, crop.width), small.height + crop.height + 22), "white")
    canvas.paste(small, (0, 22))
    canvas.paste(crop, (0, small.height + 22))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((x, y + 22, x + w, y + h + 22), outline=(255, 255, 0))
    draw.text((4, 4), label, fill=(0, 0, 0))
    return canvas


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    photo = np.asarray(Image.open(ROOT / "sample_images" / "flower.png").convert("RGB"))
    k, box, zoom = 4, (150, 70, 64, 48), 4
    panels = [panel(dpdown.downscale(photo, k, method="avg"), "box filter (avg), k = 4", box, zoom),
              panel(dpdown.downscale(photo, k, method="dpid", lam=1.0), "DPID, lambda = 1, k = 4", box, zoom),
              panel(dpdown.downscale(photo, k, method="dpp", variant="asym"), "DPP (Lite, asym), k = 4",
                    box, zoom)]
    width = sum(p.width for p in panels) + 8 * (len(panels) - 1)
    sheet = Image.new("RGB", (width, max(p.height for p in panels)), "white")
    x = 0
    for p in panels:
        sheet.paste(p, (x, 0))
        x += p.width + 8
    sheet.save(OUT / "flower_box_dpid_dpp.png", optimize=True)
    every_method(photo)


def every_method(photo, k=4, size=40, zoom=4, columns=6):
    """The flower's block where the methods differ most, downscaled by every method, enlarged
    without interpolation."""
    from dpdown.evaluation.report import disagreement_region

    names = registry.standalone()
    results = [dpdown.downscale(photo, k, method=name) for name in names]
    y, x = disagreement_region([r.astype(np.float32) / 255 for r in results], size)
    tiles = [("original (k× smaller shown k× larger)", photo[y * k:(y + size) * k, x * k:(x + size) * k])]
    tiles += [(name, r[y:y + size, x:x + size]) for name, r in zip(names, results)]
    cell = size * zoom
    sheet = Image.new("RGB", (columns * (cell + 6), -(-len(tiles) // columns) * (cell + 22)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, pixels) in enumerate(tiles):
        left, top = (i % columns) * (cell + 6), (i // columns) * (cell + 22)
        sheet.paste(Image.fromarray(pixels).resize((cell, cell), Image.NEAREST), (left, top + 18))
        draw.text((left + 2, top + 3), label.split(" (")[0], fill=(0, 0, 0))
    sheet.save(OUT / f"every_method_k{k}.png", optimize=True)


if __name__ == "__main__":
    main()
