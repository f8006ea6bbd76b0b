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
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    # One colour per metric, whatever the number of runs; runs are told apart by the grey lines
    # between them and their labels along the top.
    metrics = [("val_dice", "-o", "C0"), ("val_precision", "--s", "C1"), ("val_recall", ":^", "C2"), ("val_slice_specificity", "-.d", "C3")]
    offset = 0
    for i, (path, label) in enumerate(zip(args.csv, labels)):
        rows = list(csv.DictReader(open(path)))
        x = [offset + int(r["epoch"]) for r in rows]
        for key, style, colour in metrics:
            name = key.removeprefix("val_") if i == 0 else None
            top.plot(x, [float(r[key]) for r in rows], style, color=colour, ms=3, label=name)
        bottom.plot(x, [float(r["train_loss"]) for r in rows], "-o", color="C4", ms=4, label="train loss" if i == 0 else None)
        if offset:
            for ax in (top, bottom):
                ax.axvline(offset + 0.5, color="grey", lw=0.5)
        if x:
            top.annotate(label, ((x[0] + x[-1]) / 2, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 3),
                         textcoords="offset points", ha="center", va="bottom", fontsize=7)
        offset = x[-1] if x else offset
    top.set_ylabel("validation (threshold 0.5)")
    low, high = top.get_ylim()
    top.set_ylim(low - 0.25 * (high - low), high)  # room for the legend below the curves
    top.grid(alpha=0.3)
    top.legend(fontsize=7, loc="lower left")
    bottom.set_xlabel("epoch (runs one after another)")
    bottom.set_ylabel("training loss (BCE + soft Dice)")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)


if __name__ == "__main__":
    main()
