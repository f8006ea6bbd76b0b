#!/usr/bin/env python3
"""Copy a brainseg model file with another input size in its header.

The U-Net is fully convolutional, so the same weights run at any multiple of 2^depth; a slice
is then resized to that size before the network and its probabilities back after. Used to
measure a model at another scale (`brainseg tune --model m.bsm --ensemble-with m320.bsm` is a
two-scale ensemble; MODEL.md, "inference scale"). The header's SHA-256 covers the weights only,
so the copy loads like the original.

    python3 scripts/set_input_size.py models/brainseg.bsm /tmp/m320.bsm 320
"""
import json
import struct
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    src, dst, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(src, "rb").read()
    if data[:8] != b"BRAINSEG" or len(data) < 12:
        print(f"{src}: not a brainseg model file", file=sys.stderr)
        return 1
    (n,) = struct.unpack("<I", data[8:12])
    meta = json.loads(data[12 : 12 + n])
    step = 1 << meta["config"]["depth"]
    if size <= 0 or size % step:
        print(f"input size {size} is not a positive multiple of 2^depth = {step}", file=sys.stderr)
        return 1
    meta["config"]["input_size"] = size
    header = json.dumps(meta).encode()
    with open(dst, "wb") as out:
        out.write(data[:8] + struct.pack("<I", len(header)) + header + data[12 + n :])
    return 0


if __name__ == "__main__":
    sys.exit(main())
