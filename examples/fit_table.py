"""Fit every trainable method's parameters on the offline datasets and print the README's table.

    python3 examples/fit_table.py [--dataset photos --dataset urban] [-k 2] [--metric ssim]

Each row is one ``dpdown fit`` (centre 256-px patches, 30 % of the images held out, seed 0,
at most 100 evaluations): the metric on the held-out images with the method's defaults and
with the fitted parameters.
"""

import argparse

import dpdown

FITS = (
    ("dpp", ["alpha", "lambda"]),
    ("dpp:guide=full", ["filter"]),
    ("dpid", ["lambda"]),
    ("softpool", ["beta"]),
    ("lip", ["beta"]),
    ("lp", ["p"]),
    ("mixed", ["mix"]),
    ("gated", ["gate-weights"]),
    ("ordinal:pool-range=3", ["weights"]),
)


def shown(value):
    return ", ".join(f"{v:.3g}" for v in value) if isinstance(value, tuple) else f"{value:.4g}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", action="append")
    parser.add_argument("-k", type=int, default=2)
    parser.add_argument("--metric", default="ssim")
    args = parser.parse_args()
    names = args.dataset or ["photos", "urban"]
    print(f"| method | fitted | held-out {args.metric}, defaults | held-out {args.metric}, fitted | "
          f"training images | evaluations | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for method, params in FITS:
        r = dpdown.fit_method(datasets=names, method=method, k=args.k, params=params, metric=args.metric)
        fitted = "; ".join(f"{n} = {shown(r.params[n])}" for n in r.fitted)
        print(f"| `{method}` | {fitted} | {r.held_out['default']:.4f} | {r.held_out['fitted']:.4f} | "
              f"{r.train['images']} | {r.evaluations} | {r.seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
