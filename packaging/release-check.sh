#!/usr/bin/env bash
# Builds the one-folder bundle (packaging/photogan.spec), copies it out of the repository and runs the *bundled*
# programs with a bare environment (no Python on PATH, no PYTHONHOME/PYTHONPATH): --version (the cold start-up
# time), doctor, one enhance of the sample with the bundled default model, a refused `train`, and the desktop app
# under Xvfb long enough to save a screenshot. Prints the bundle's size. Needs `scripts/setup.sh test` first.
#   packaging/release-check.sh [OUTDIR]     (default build/release-check: the screenshot and the doctor report)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/release-check}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
.venv/bin/python -m pip install -q 'pyinstaller>=6.10'
echo "== building the bundle"
start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --log-level ERROR --distpath build/dist --workpath build/pyinstaller \
    packaging/photogan.spec
echo "built in $(( $(date +%s) - start )) s"

work="$(mktemp -d /tmp/photogan-release-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp -a build/dist/photogan "$work/app"
cp resources/samples/sample.jpg "$work/sample.jpg"
mkdir -p "$work/home"
bare=(env -i "PATH=/usr/bin:/bin" "HOME=$work/home" "LANG=C.UTF-8")
app="$work/app"

echo "== bundle: $(du -sh "$app" | cut -f1) in $(find "$app" -type f | wc -l) files"
begin=${EPOCHREALTIME/./}
"${bare[@]}" "$app/photogan" --version
elapsed=$(( ${EPOCHREALTIME/./} - begin ))
printf 'cold start (photogan --version): %d.%02d s\n' $(( elapsed / 1000000 )) $(( elapsed % 1000000 / 10000 ))
"${bare[@]}" "$app/photogan" doctor | tee "$out/doctor.txt"
grep -q "CPUExecutionProvider: runs" "$out/doctor.txt"
"${bare[@]}" "$app/photogan" enhance "$work/sample.jpg" -o "$work/out"
test -s "$work/out/sample.jpg"
# an iPhone HEIC and a camera RAW: pillow-heif's and LibRaw's libraries made it into the bundle
.venv/bin/python - "$work" <<'PY'
import sys
from pathlib import Path
import numpy as np
from PIL import Image
import pillow_heif
sys.path.insert(0, "tests")
from dng import write_dng
work = Path(sys.argv[1])
pillow_heif.register_heif_opener()
Image.open(work / "sample.jpg").reduce(4).save(work / "phone.heic", quality=90)
write_dng(work / "camera.dng", np.full((64, 96, 3), 0.4), {})
PY
"${bare[@]}" "$app/photogan" enhance "$work/phone.heic" "$work/camera.dng" -o "$work/out" --model restore
test -s "$work/out/phone.heic" && test -s "$work/out/camera.tif"
if "${bare[@]}" "$app/photogan" train --task upscale 2>"$work/train.err"; then
    echo "photogan train should refuse in the bundle" >&2; exit 1
fi
grep -q "pip install" "$work/train.err"
"${bare[@]}" xvfb-run -a -s "-screen 0 1440x900x24" "$app/photogan-gui" --screenshot "$out/bundled-gui.png" \
    "$work/sample.jpg"
test -s "$out/bundled-gui.png"
for tool in desktop-file-validate appstreamcli; do
    command -v "$tool" >/dev/null || continue
    case "$tool" in
        desktop-file-validate) desktop-file-validate packaging/linux/io.github.photogan.Photogan.desktop ;;
        appstreamcli) appstreamcli validate --no-net --explain packaging/linux/io.github.photogan.Photogan.metainfo.xml ;;
    esac
done
echo "release check passed: $out/bundled-gui.png"
