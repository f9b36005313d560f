#!/usr/bin/env bash
# One run on a machine with a GPU (after scripts/setup.sh): which providers really run (photogan doctor), every
# bundled model's output MP/s on the CPU and on CUDA (benchmarks/speed.py, the split into decode / network /
# encode and peak RSS), and the whole `photogan enhance` of a 24 MP photo at ×2 and ×4 on each device.
#   benchmarks/gpu.sh [FOLDER]          FOLDER: photos for speed.py (default ../shared/data/val/Set14)
# Environment: DEVICES (default "cpu cuda"), BIG (the large photo's size, default 6000x4000), OUT (default
# build/gpu-bench: the tables and logs). On a CPU-only machine `DEVICES=cpu BIG=600x400` checks the script.
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-../shared/data/val/Set14}"
devices="${DEVICES:-cpu cuda}"
big="${BIG:-6000x4000}"
out="${OUT:-build/gpu-bench}"
py=.venv/bin/python
mkdir -p "$out"
work="$(mktemp -d /tmp/photogan-gpu-XXXXXX)"
trap 'rm -rf "$work"' EXIT

"$py" -m photogan doctor | tee "$out/doctor.txt"
for device in $devices; do
    echo "== speed.py on $device"
    "$py" benchmarks/speed.py "$folder" --device "$device" --repeat 2 | tee "$out/speed-$device.md"
done

# the large photo: the folder's first photo resized to BIG (Lanczos), as a JPEG a camera would write
"$py" - "$folder" "$big" "$work/big.jpg" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from photogan.core.formats import find_images
folder, size, target = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
width, height = (int(v) for v in size.split("x"))
first = next(iter(find_images(folder, recursive=True)))
Image.open(first).convert("RGB").resize((width, height), Image.Resampling.LANCZOS).save(target, quality=92)
PY
{
    echo "| device | model | input | seconds (whole photogan enhance) |"
    echo "|---|---|---|---|"
    for device in $devices; do
        for model in upscale-x2 upscale-x4; do
            start=${EPOCHREALTIME/./}
            "$py" -m photogan enhance "$work/big.jpg" --model "$model" --device "$device" -o "$work/out-$device-$model" \
                2>"$out/enhance-$device-$model.log"
            elapsed=$(( ${EPOCHREALTIME/./} - start ))
            printf '| %s | %s | %s | %d.%02d |\n' "$device" "$model" "$big" $(( elapsed / 1000000 )) \
                $(( elapsed % 1000000 / 10000 ))
            rm -rf "$work/out-$device-$model"
        done
    done
} | tee "$out/big-photo.md"
echo "tables in $out"
