"""Slow, obviously-correct NumPy versions of every method, written from ../shared/methods.md.

They share nothing with dpdown's kernels: footprints, coverage, guidance and weights are
recomputed here pixel by pixel. Inputs are float64 H×W×C working values.
"""

import math

import numpy as np


def window_spans(n, k, stride):
    """Ceil-mode windows: list of (indices, coverage weights)."""
    n_out = math.ceil((n - k) / stride) + 1
    return [(np.arange(i * stride, min(i * stride + k, n)), np.ones(min(i * stride + k, n) - i * stride))
            for i in range(n_out)]


def coverage_spans(n, n_out):
    """Output i covers [s, e) = [i·n/n_out, (i+1)·n/n_out); edge pixels weighted as in methods.md."""
    spans = []
    p = n / n_out
    for i in range(n_out):
        s, e = i * p, (i + 1) * p
        xs, ws = [], []
        for x in range(n):
            if x + 1 <= s or x >= e:
                continue
            f = 1.0
            if x < s:
                f = 1 - (s - x)
            elif x + 1 > e:
                f = 1 - ((x + 1) - e)
            xs.append(x)
            ws.append(f)
        spans.append((np.array(xs), np.array(ws)))
    return spans


def spans(shape, k=None, stride=None, out_shape=None):
    h, w = shape
    if k is not None:
        s = stride or k
        return window_spans(h, k, s), window_spans(w, k, s)
    return coverage_spans(h, out_shape[0]), coverage_spans(w, out_shape[1])


def footprint(img, rows, cols, i, j):
    """Pixels (N×C) and coverage weights (N) of output pixel (i, j)."""
    (ys, wy), (xs, wx) = rows[i], cols[j]
    pix = img[np.ix_(ys, xs)].reshape(-1, img.shape[2])
    cov = np.outer(wy, wx).reshape(-1)
    return pix, cov


def box(img, **geometry):
    rows, cols = spans(img.shape[:2], **geometry)
    out = np.zeros((len(rows), len(cols), img.shape[2]))
    for i in range(len(rows)):
        for j in range(len(cols)):
            pix, cov = footprint(img, rows, cols, i, j)
            out[i, j] = (cov[:, None] * pix).sum(0) / cov.sum()
    return out


def guidance_121(avg):
    kernel = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64)
    h, w, _ = avg.shape
    out = np.zeros_like(avg)
    for i in range(h):
        for j in range(w):
            total, weights = 0.0, 0.0
            for a in (-1, 0, 1):
                for b in (-1, 0, 1):
                    if 0 <= i + a < h and 0 <= j + b < w:
                        total = total + kernel[a + 1, b + 1] * avg[i + a, j + b]
                        weights += kernel[a + 1, b + 1]
            out[i, j] = total / weights
    return out


def dpid(img, lam=1.0, alpha=-1, **geometry):
    """Weber et al. 2016: weights c·‖I − G‖^λ, G the 1-2-1-smoothed box filter; Σw = 0 → G."""
    rows, cols = spans(img.shape[:2], **geometry)
    guide = guidance_121(box(img, **geometry))
    colour = [c for c in range(img.shape[2]) if c != alpha]
    out = np.zeros_like(guide)
    for i in range(len(rows)):
        for j in range(len(cols)):
            pix, cov = footprint(img, rows, cols, i, j)
            d = np.sqrt(((pix[:, colour] - guide[i, j, colour]) ** 2).sum(1))
            w = cov * d ** lam
            out[i, j] = guide[i, j] if w.sum() == 0 else (w[:, None] * pix).sum(0) / w.sum()
    return out


def full_guidance(img, taps, starts_rows, starts_cols):
    """3×3 ``taps`` centred on each footprint's first pixel, zero padding (reference conv, pad 1)."""
    h, w, c = img.shape
    padded = np.zeros((h + 2, w + 2, c))
    padded[1:-1, 1:-1] = img
    taps = np.asarray(taps, dtype=np.float64).reshape(3, 3)
    out = np.zeros((len(starts_rows), len(starts_cols), c))
    for i, y in enumerate(starts_rows):
        for j, x in enumerate(starts_cols):
            out[i, j] = (taps[:, :, None] * padded[y:y + 3, x:x + 3]).sum((0, 1))
    return out


def dpp(img, alpha=1.0, lam=1.0, variant="sym", guide="lite", filter=None, **geometry):
    """Saeedan et al. 2018 Eq. 4–8: per channel w = α + ρ_λ(I − Ĩ), ε² = 0.001."""
    rows, cols = spans(img.shape[:2], **geometry)
    if guide == "lite":
        ref = box(img, **geometry)
    else:
        taps = filter if filter is not None else np.outer([1, 2, 1], [1, 2, 1]) / 16
        ref = full_guidance(img, taps, [r[0][0] for r in rows], [c[0][0] for c in cols])
    out = np.zeros_like(ref)
    for i in range(len(rows)):
        for j in range(len(cols)):
            pix, cov = footprint(img, rows, cols, i, j)
            x = pix - ref[i, j]
            if variant == "asym":
                x = np.maximum(x, 0)
            w = cov[:, None] * (alpha + np.sqrt(x ** 2 + 0.001) ** lam)
            out[i, j] = (w * pix).sum(0) / w.sum(0)
    return out


def working(img, alpha=-1):
    """The working values of an image: [0, 1] for integers, colour premultiplied by alpha."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    values = img.astype(np.float64)
    if img.dtype.kind == "u":
        values /= np.iinfo(img.dtype).max
    if alpha >= 0:
        colour = [c for c in range(img.shape[2]) if c != alpha]
        values[:, :, colour] *= values[:, :, alpha:alpha + 1]
    return values
