"""Learning curve of a training run as a PNG: validation Dice, precision, recall and slice
specificity, and the training loss, per epoch, from one or more `metrics.csv` files (runs that
continue each other are drawn one after the other).

    python scripts/plot_metrics.py OUT.png RUN1/metrics.csv [RUN2/metrics.csv ...] [--labels a,b]

Needs matplotlib (e.g. `.venv-bench/bin/pip install matplotlib`).
"""
import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--labels", help="comma-separated, one per csv")
    args = ap.parse_args()
    labels = args.labels.split(",") if args.labels else [f"run {i + 1}" for i in range(len(args.csv))]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    offset = 0
    for path, label in zip(args.csv, labels):
        rows = list(csv.DictReader(open(path)))
        x = [offset + int(r["epoch"]) for r in rows]
        for key, style in [("val_dice", "-o"), ("val_precision", "--"), ("val_recall", ":"), ("val_slice_specificity", "-.")]:
            top.plot(x, [float(r[key]) for r in rows], style, label=f"{key.removeprefix('val_')} ({label})")
        bottom.plot(x, [float(r["train_loss"]) for r in rows], "-o", label=f"train loss ({label})")
        if offset:
            top.axvline(offset + 0.5, color="grey", lw=0.5)
        offset = x[-1] if x else offset
    top.set_ylabel("validation (threshold 0.5)")
    top.grid(alpha=0.3)
    top.legend(fontsize=7, ncol=2)
    bottom.set_xlabel("epoch")
    bottom.set_ylabel("training loss (BCE + soft Dice)")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)


if __name__ == "__main__":
    main()
