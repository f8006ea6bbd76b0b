"""brainseg's U-Net in PyTorch, loaded from `brainseg export` safetensors, for side-by-side timing.

    python bench/torch_unet.py WEIGHTS.safetensors [--rounds N] [--onnx OUT.onnx]

Checks first that PyTorch computes brainseg's function (the file's probe input must give its
probe logits), then prints one JSON line: inference ms/image at batch 1 and 8, training images/s
at batch 4 and 8 (BCE + soft Dice, AdamW), peak RSS, each a median over --rounds. Same layout as
core/src/model.rs: 2x(conv3x3 no bias + GroupNorm + ReLU) per level, max-pool, transposed-conv
(or bilinear) decoder with skip concatenation, 1x1 head.
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open


class DoubleConv(nn.Module):
    def __init__(self, cin, mid, cout, groups):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, mid, 3, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(groups, mid)
        self.conv2 = nn.Conv2d(mid, cout, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(groups, cout)

    def forward(self, x):
        x = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(x)))


class UpBlock(nn.Module):
    def __init__(self, up, conv):
        super().__init__()
        self.up = up
        self.conv = conv


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        width = lambda level: cfg["base_channels"] << level
        g, depth = cfg["norm_groups"], cfg["depth"]
        self.bilinear = cfg["upsampling"] == "Bilinear"
        self.encoder = nn.ModuleList()
        prev = cfg["in_channels"]
        for level in range(depth):
            self.encoder.append(DoubleConv(prev, width(level), width(level), g))
            prev = width(level)
        bottom = prev if self.bilinear else width(depth)
        self.bottleneck = DoubleConv(prev, bottom, bottom, g)
        self.decoder = nn.ModuleList()
        below = bottom
        for level in reversed(range(depth)):
            skip = width(level)
            if self.bilinear:
                out = skip if level == 0 else width(level - 1)
                block = UpBlock(None, DoubleConv(below + skip, (below + skip) // 2, out, g))
            else:
                out = skip
                block = UpBlock(nn.ConvTranspose2d(below, skip, 2, stride=2), DoubleConv(2 * skip, skip, skip, g))
            self.decoder.append(block)
            below = out
        self.head = nn.Conv2d(below, 1, 1)

    def forward(self, x):
        skips = []
        for level in self.encoder:
            y = level(x)
            skips.append(y)
            x = F.max_pool2d(y, 2)
        x = self.bottleneck(x)
        for block in self.decoder:
            skip = skips.pop()
            if block.up is not None:
                x = block.up(x)
            else:
                x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=True)
            x = block.conv(torch.cat([skip, x], 1))
        return self.head(x)


def load(path):
    with safe_open(path, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model = UNet(cfg)
    # Burn names GroupNorm's affine parameters gamma/beta; PyTorch weight/bias.
    state = {k.replace(".gamma", ".weight").replace(".beta", ".bias"): v for k, v in tensors.items() if not k.startswith("probe.")}
    model.load_state_dict(state, strict=True)
    return model, cfg, tensors["probe.input"], tensors["probe.logits"]


def loss_fn(logits, target):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dice = (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return bce + 1 - dice


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--onnx")
    # What a PyTorch user picks on a CPU: the default (fp32, NCHW), channels-last fp32, or
    # bf16 autocast with channels-last (oneDNN's bf16 matrix products: AMX, AVX512-BF16).
    ap.add_argument("--mode", choices=["fp32", "channels-last", "bf16"], default="fp32")
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    model, cfg, probe_in, probe_out = load(args.weights)
    model.eval()
    with torch.inference_mode():
        diff = (model(probe_in) - probe_out).abs().max().item()
    if diff > 1e-2:
        raise SystemExit(f"PyTorch does not reproduce brainseg's logits: max difference {diff}")
    if args.onnx:
        torch.onnx.export(model, probe_in, args.onnx, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
    s = cfg["input_size"]
    label = {"fp32": "", "channels-last": " channels-last", "bf16": " bf16 autocast channels-last"}[args.mode]
    result = {"runtime": f"pytorch {torch.__version__}{label}", "threads": torch.get_num_threads(), "size": s, "probe_max_diff": diff}
    layout = torch.channels_last if args.mode != "fp32" else torch.contiguous_format
    model = model.to(memory_format=layout)
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.mode == "bf16")  # noqa: E731
    with torch.inference_mode():
        for batch in (1, 8):
            x = torch.randn(batch, 3, s, s).contiguous(memory_format=layout)
            with autocast():
                model(x)  # warm-up
            times = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                with autocast():
                    model(x)
                times.append((time.perf_counter() - t) * 1000 / batch)
            result[f"infer_ms_b{batch}"] = statistics.median(times)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for batch in (4, 8):
        x, y = torch.randn(batch, 3, s, s).contiguous(memory_format=layout), (torch.rand(batch, 1, s, s) < 0.05).float()
        rates = []
        for i in range(args.rounds + 1):
            t = time.perf_counter()
            opt.zero_grad()
            with autocast():
                loss = loss_fn(model(x).float(), y)
            loss.backward()
            opt.step()
            if i > 0:
                rates.append(batch / (time.perf_counter() - t))
        result[f"train_img_s_b{batch}"] = statistics.median(rates)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
