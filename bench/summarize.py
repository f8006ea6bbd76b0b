"""Medians over rounds and brainseg/PyTorch ratios from scripts/bench.sh's results.jsonl."""
import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = defaultdict(list)
for r in rows:
    groups[(r["model"], r["runtime"].split(" (")[0].split(" ")[0], r["runtime"])].append(r)
metrics = [("infer_ms_b1", "infer ms/img b1", False), ("infer_ms_b8", "infer ms/img b8", False),
           ("train_img_s_b4", "train img/s b4", True), ("train_img_s_b8", "train img/s b8", True),
           ("peak_rss_mb", "peak RSS MiB", None)]
medians = {}
for key, rs in groups.items():
    medians[key] = {m: statistics.median([r[m] for r in rs if r.get(m) is not None] or [float("nan")])
                    for m, _, _ in metrics}
    medians[key]["rounds"] = len(rs)
    medians[key]["size"] = rs[0]["size"]
print(f"{'model':<10} {'runtime':<48} {'size':>4} " + " ".join(f"{label:>16}" for _, label, _ in metrics) + "  rounds")
for (model, _, runtime), m in sorted(medians.items()):
    print(f"{model:<10} {runtime[:48]:<48} {m['size']:>4} " + " ".join(f"{m[k]:>16.2f}" for k, _, _ in metrics) + f"  {m['rounds']}")
print()
print("brainseg/PyTorch speed (>1: brainseg faster)")
for model in sorted({k[0] for k in medians}):
    b = next((m for k, m in medians.items() if k[0] == model and k[1] == "brainseg"), None)
    # One line per PyTorch mode (default, channels-last, bf16 autocast).
    for (_, _, runtime), t in sorted((k, m) for k, m in medians.items() if k[0] == model and k[1] == "pytorch"):
        if not b:
            continue
        parts = []
        for key, label, higher_better in metrics:
            if higher_better is None:
                continue
            ratio = b[key] / t[key] if higher_better else t[key] / b[key]
            parts.append(f"{label} {ratio:.2f}x")
        mode = runtime.split(" ", 2)[2] if runtime.count(" ") >= 2 else "default"
        print(f"  {model:<10} vs {mode:<28} " + ", ".join(parts))
