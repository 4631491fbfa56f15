"""Slow, obviously-correct NumPy versions of every method, written straight from the formulas.

They share nothing with dpdown's kernels: footprints, coverage, guidance and weights are
recomputed here pixel by pixel. Inputs are float64 H×W×C working values.
"""

import math
from fractions import Fraction

import numpy as np


def window_spans(n, k, stride):
    """Ceil-mode windows: list of (indices, coverage weights). A window cannot start past the
    edge (PyTorch's ceil mode), which the usual count allows where stride > k."""
    n_out = math.ceil((n - k) / stride) + 1
    if (n_out - 1) * stride >= n:
        n_out -= 1
    return [(np.arange(i * stride, min(i * stride + k, n)), np.ones(min(i * stride + k, n) - i * stride))
            for i in range(n_out)]


def coverage_spans(n, n_out):
    """Output i covers [s, e) = [i·n/n_out, (i+1)·n/n_out); edge pixels weighted by their overlap."""
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


def _rounded_root(q):
    """√q rounded half to even, exactly, for a non-negative rational q."""
    r = math.isqrt(q.numerator // q.denominator)  # ⌊√q⌋
    half = Fraction(2 * r + 1, 2) ** 2  # (r + ½)²
    return r + 1 if q > half or (q == half and r % 2) else r


def integer_pool(img, how, **geometry):
    """Avg, sum, max or min of an unsigned image straight to its dtype, for footprints of
    unit coverage: the mean of the stored integers rounded half to even in exact rationals
    (as ``np.rint`` would round the true value), the sum clipped at the dtype's maximum;
    ``rms`` and ``rss``, the root of the mean or of the sum of their squares (Lp and
    power-average at p = 2, whose working-value scale cancels), rounded likewise."""
    rows, cols = spans(img.shape[:2], **geometry)
    top = np.iinfo(img.dtype).max
    out = np.zeros((len(rows), len(cols), img.shape[2]), img.dtype)
    for i in range(len(rows)):
        for j in range(len(cols)):
            pix, _ = footprint(img.astype(np.int64), rows, cols, i, j)
            if how == "avg":
                out[i, j] = [round(Fraction(int(s), len(pix))) for s in pix.sum(0)]  # round: half to even
            elif how == "sum":
                out[i, j] = np.minimum(pix.sum(0), top)
            elif how in ("rms", "rss"):
                count = len(pix) if how == "rms" else 1
                out[i, j] = [min(_rounded_root(Fraction(int(s), count)), top) for s in (pix ** 2).sum(0)]
            else:
                out[i, j] = pix.max(0) if how == "max" else pix.min(0)
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


# ---- the pooling family ------------------------------------------------------------------

def reduce(img, fn, **geometry):
    """Apply ``fn(pix N×C, cov N) -> C values`` to every footprint."""
    rows, cols = spans(img.shape[:2], **geometry)
    out = np.zeros((len(rows), len(cols), img.shape[2]))
    for i in range(len(rows)):
        for j in range(len(cols)):
            out[i, j] = fn(*footprint(img, rows, cols, i, j))
    return out


def total(img, **g):
    return reduce(img, lambda pix, cov: (cov[:, None] * pix).sum(0), **g)


def maximum(img, **g):
    return reduce(img, lambda pix, cov: pix[cov > 0].max(0), **g)


def minimum(img, **g):
    return reduce(img, lambda pix, cov: pix[cov > 0].min(0), **g)


def pow_average(img, p, **g):
    return reduce(img, lambda pix, cov: ((cov[:, None] * np.abs(pix) ** p).sum(0)) ** (1 / p), **g)


def lp(img, p, **g):
    return reduce(img, lambda pix, cov: ((cov[:, None] * np.abs(pix) ** p).sum(0) / cov.sum()) ** (1 / p), **g)


def softpool(img, beta=1.0, **g):
    def pool(pix, cov):
        e = cov[:, None] * np.exp(beta * (pix - pix.max(0)))
        return (e * pix).sum(0) / e.sum(0)
    return reduce(img, pool, **g)


def lip_filter(img, taps, **g):
    """LIP with a 3×3 logit filter on the input (zero padding), per channel."""
    h, w, c = img.shape
    padded = np.zeros((h + 2, w + 2, c))
    padded[1:-1, 1:-1] = img
    taps = np.asarray(taps, dtype=np.float64).reshape(3, 3)
    logits = sum(taps[a, b] * padded[a:a + h, b:b + w] for a in range(3) for b in range(3))
    rows, cols = spans(img.shape[:2], **g)
    out = np.zeros((len(rows), len(cols), c))
    for i in range(len(rows)):
        for j in range(len(cols)):
            pix, cov = footprint(img, rows, cols, i, j)
            logit, _ = footprint(logits, rows, cols, i, j)
            e = cov[:, None] * np.exp(logit - logit.max(0))
            out[i, j] = (e * pix).sum(0) / e.sum(0)
    return out


def mixed(img, a=0.5, **g):
    return reduce(img, lambda pix, cov: a * pix.max(0) + (1 - a) * (cov[:, None] * pix).sum(0) / cov.sum(), **g)


def gated(img, k, mask):
    """σ(ωᵀx)·max + (1 − σ)·avg over k×k windows, ω indexed by the position in the window."""
    mask = np.asarray(mask, dtype=np.float64).reshape(k, k)
    h, w, c = img.shape
    out = np.zeros((-(-h // k), -(-w // k), c))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            win = img[i * k:(i + 1) * k, j * k:(j + 1) * k]
            gate = 1 / (1 + np.exp(-(mask[:win.shape[0], :win.shape[1], None] * win).sum((0, 1))))
            out[i, j] = gate * win.max((0, 1)) + (1 - gate) * win.mean((0, 1))
    return out


def stochastic_weighted(img, **g):
    def pool(pix, cov):
        s = (cov[:, None] * pix).sum(0)
        return np.where(s > 0, (cov[:, None] * pix ** 2).sum(0) / np.where(s > 0, s, 1), 0.0)
    return reduce(img, pool, **g)


_M = (1 << 64) - 1


def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def uniform(seed, a, b, c):
    """SplitMix64 of (seed, a, b, c) in Python integers: a uniform in (0, 1)."""
    golden = 0x9E3779B97F4A7C15
    z = _mix((seed + golden * (a + 1)) & _M)
    z = _mix((z + golden * (b + 1)) & _M)
    z = _mix((z + golden * (c + 1)) & _M)
    return ((z >> 11) + 0.5) / 2.0 ** 53


def stochastic_sample(img, seed=0, **g):
    """Chao's weighted reservoir draw, P(q) = w_q / Σ w with w = c·x (> 0): in footprint
    order, pixel q replaces the pick when u·(Σ of the weights so far, its own included) ≤ w_q."""
    rows, cols = spans(img.shape[:2], **g)
    out = np.zeros((len(rows), len(cols), img.shape[2]))
    for i, (ys, wy) in enumerate(rows):
        for j, (xs, wx) in enumerate(cols):
            for ch in range(img.shape[2]):
                seen = 0.0
                for y, cy in zip(ys, wy):
                    for x, cx in zip(xs, wx):
                        w = cy * cx * img[y, x, ch]
                        if w > 0:
                            seen += w
                            if uniform(seed, int(y), int(x), ch) * seen <= w:
                                out[i, j, ch] = img[y, x, ch]
    return out


def s3_rows(n, k, grid, seed, axis):
    """S3 sampling of one axis: ceil(n/k) indices, grid by grid, each keeping the grid's
    indices with the smallest counter-based keys, in order; the last grid takes the rest."""
    total_kept, kept = -(-n // k), []
    for g, begin in enumerate(range(0, n, grid)):
        size = min(grid, n - begin)
        count = grid // k if begin + grid < n else total_kept - len(kept)
        keys = [uniform(seed, axis, g, t) for t in range(size)]
        kept += sorted(begin + t for t in sorted(range(size), key=lambda t: keys[t])[:count])
    return kept


def s3pool(img, k, grid, seed=0):
    h, w, c = img.shape
    stride_one = np.zeros_like(img)
    for y in range(h):
        for x in range(w):
            stride_one[y, x] = img[y:y + k, x:x + k].max((0, 1))
    return stride_one[np.ix_(s3_rows(h, k, grid, seed, 0), s3_rows(w, k, grid, seed, 1))]


def ordinal(img, r, weights, **g):
    s = np.exp(np.asarray(weights, dtype=np.float64) - max(weights))
    s /= s.sum()

    def pool(pix, cov):
        out = np.zeros(pix.shape[1])
        for ch in range(pix.shape[1]):
            order = np.lexsort((-cov, -pix[:, ch]))[:r]  # descending; equal values: larger coverage first
            w = s[:len(order)] * cov[order]
            out[ch] = (w * pix[order, ch]).sum() / w.sum()
        return out
    return reduce(img, pool, **g)


def channel_pool(img, mode, size):
    """Pei et al.: max/min/mean over groups of ``size`` consecutive channels, or the ``size`` largest."""
    if mode == "topk":
        return -np.sort(-img, axis=2)[:, :, :size]
    groups = img.reshape(img.shape[0], img.shape[1], -1, size)
    return {"max": groups.max(3), "min": groups.min(3), "avg": groups.mean(3)}[mode]


def learned(img, weights, k, tile, mean, std):
    """Learned pooling (Birodkar et al., arXiv 2019): output (i, j) = √v·Σ P[m, n]·(I[n] − f̄)/√v + f̄ over
    the tile holding it, m = (i mod tile/k, j mod tile/k); pixels of a partial edge tile that lie
    outside the image count as the mean."""
    h, w, c = img.shape
    per = tile // k
    out = np.zeros((math.ceil(h / k), math.ceil(w / k), c))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            m = (i % per) * per + j % per
            y0, x0 = (i // per) * tile, (j // per) * tile
            for ch in range(c):
                total = 0.0
                for dy in range(tile):
                    for dx in range(tile):
                        if y0 + dy < h and x0 + dx < w:
                            g = (img[y0 + dy, x0 + dx, ch] - mean[ch]) / std[ch]
                            total += weights[m, dy * tile + dx] * g
                out[i, j, ch] = total * std[ch] + mean[ch]
    return out


def ssim(x, y, sigma=1.5, k1=0.01, k2=0.03, data_range=1.0):
    """Wang et al. 2004 SSIM, straight from the formula: at every pixel whose 11×11 window lies
    inside the image, Gaussian-weighted (σ, truncated at 3.5σ, weights summing to 1) means,
    population variances and covariance, SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
    C1 = (k1·L)², C2 = (k2·L)²; the mean over those pixels, then over channels."""
    radius = int(3.5 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    g = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    h, w, channels = x.shape
    per_channel = []
    for c in range(channels):
        values = []
        for i in range(radius, h - radius):
            for j in range(radius, w - radius):
                a = x[i - radius:i + radius + 1, j - radius:j + radius + 1, c]
                b = y[i - radius:i + radius + 1, j - radius:j + radius + 1, c]
                mx, my = (window * a).sum(), (window * b).sum()
                vx, vy = (window * (a - mx) ** 2).sum(), (window * (b - my) ** 2).sum()
                cxy = (window * (a - mx) * (b - my)).sum()
                values.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
        per_channel.append(np.mean(values))
    return float(np.mean(per_channel))


def keys_cubic(x, a=-0.5):
    """Keys' cubic convolution kernel (1981), one value."""
    x = abs(x)
    if x < 1:
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    if x < 2:
        return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
    return 0.0


def matlab_imresize(img, out_shape):
    """MATLAB's imresize(img, out_shape, 'bicubic'), written from its documented algorithm, one
    output value at a time: output o (1-based) sits at u = o/s + (1 − 1/s)/2 in the input
    (s = out/in); inputs j from floor(u − w/2) for w + 2 taps (w = 4, or 4/s when shrinking,
    where the kernel is stretched: s·cubic(s·(u − j))); weights normalised; an index outside
    the image mirrored with the edge pixel repeated (periodically, as often as needed); rows first, then columns (float64)."""
    def axis(values, n_out):
        n_in = values.shape[0]
        s = n_out / n_in
        width = 4 / s if s < 1 else 4
        out = np.zeros((n_out,) + values.shape[1:])
        for o in range(1, n_out + 1):
            u = o / s + 0.5 * (1 - 1 / s)
            left = math.floor(u - width / 2)
            js = range(left, left + math.ceil(width) + 2)
            ws = [s * keys_cubic(s * (u - j)) if s < 1 else keys_cubic(u - j) for j in js]
            total = sum(ws)
            for j, wt in zip(js, ws):
                m = (j - 1) % (2 * n_in)  # MATLAB's aux = [1:n, n:-1:1], indexed periodically
                m = 2 * n_in - 1 - m if m >= n_in else m
                out[o - 1] += wt / total * values[m]
        return out
    rows = axis(np.asarray(img, np.float64), out_shape[0])
    return np.swapaxes(axis(np.swapaxes(rows, 0, 1), out_shape[1]), 0, 1)


def bt601_luma(rgb):
    """Y of ITU-R BT.601 YCbCr in the studio range, for R'G'B' in [0, 1] (MATLAB's rgb2ycbcr):
    Y = 16/255 + (65.481 R + 128.553 G + 24.966 B)/255, one pixel at a time."""
    rgb = np.asarray(rgb, np.float64)
    out = np.empty(rgb.shape[:2] + (1,))
    for i in range(rgb.shape[0]):
        for j in range(rgb.shape[1]):
            r, g, b = rgb[i, j]
            out[i, j, 0] = (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255
    return out
