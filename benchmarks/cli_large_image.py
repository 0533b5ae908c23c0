"""Peak memory and time of ``cogd inpaint BIG.png --missing 0.5 -o OUT.png`` on a 2000x3000 gray
image, with the biharmonic baseline (the default) and with ``--no-baseline``.

The image is six scikit-image photos (camera, moon, coins, astronaut in gray, brick, gravel),
each resized to 1000x1000, in a 2x3 grid (uint8 PNG). Each variant runs the installed ``cogd`` in
its own process under ``/usr/bin/time -v`` (peak = its maximum resident set size); its output
lines are time-stamped as they arrive, and the moment the line naming the output is printed
the output file is checked (it must exist, whole, before the comparison with the baseline
starts). Writes a Markdown report with the command, the machine and its load.

Usage::

    python benchmarks/cli_large_image.py --out benchmarks/results/cli_large_image.md
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import cpu_description  # noqa: E402

PHOTOS = ("camera", "moon", "coins", "astronaut", "brick", "gravel")


def large_image():
    """2000x3000 uint8: the PHOTOS resized to 1000x1000, in two rows of three."""
    from skimage import color, data, transform

    tiles = []
    for name in PHOTOS:
        photo = getattr(data, name)()
        photo = color.rgb2gray(photo) if photo.ndim == 3 else photo / 255.0
        tiles.append(transform.resize(photo, (1000, 1000), anti_aliasing=True))
    grid = np.block([tiles[:3], tiles[3:]])
    return np.round(grid * 255).astype(np.uint8)


def run(arguments, output):
    """Run ``/usr/bin/time -v cogd ARGUMENTS``; return its lines with their times, the time at
    which the output line came (and whether the output was then whole), and time's report."""
    command = ["/usr/bin/time", "-v", shutil.which("cogd"), *arguments]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors = []
    reader = threading.Thread(target=lambda: errors.extend(process.stderr))
    reader.start()
    lines, written = [], None
    for line in process.stdout:
        now = time.perf_counter() - start
        lines.append((now, line.rstrip()))
        if line.rstrip().endswith(f"-> {output}"):
            written = (now, _whole_image(output))
    process.wait()
    reader.join()
    return lines, written, "".join(errors), time.perf_counter() - start


def _whole_image(path):
    import imageio.v3 as iio

    return os.path.exists(path) and iio.imread(path).shape == (2000, 3000)


def peak_gb(report):
    kilobytes = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    return int(kilobytes.group(1)) * 1024 / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="Markdown report")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="cogd-large-")
    import imageio.v3 as iio

    big = os.path.join(folder, "big.png")
    iio.imwrite(big, large_image())
    rows, details = [], []
    loads = [os.getloadavg()]
    for variant, extra in (("default (baseline)", []), ("--no-baseline", ["--no-baseline"])):
        output = os.path.join(folder, f"out{len(rows)}.png")
        lines, written, errors, seconds = run(["inpaint", big, "--missing", "0.5", "-o", output,
                                               *extra], output)
        loads.append(os.getloadavg())
        bars = sorted({bar for bar in ("restoring", "biharmonic baseline") if bar in errors})
        rows.append(f"| {variant} | {seconds:.0f} | {peak_gb(errors):.2f} | "
                    f"{written[0]:.0f} ({'whole file there' if written[1] else 'NOT THERE'}) | "
                    f"{seconds - written[0]:.0f} | {', '.join(bars)} |")
        details += [f"`{variant}`:", "", "```"] + [f"{at:6.1f} s  {text}" for at, text in lines]
        details += ["```", ""]
    shutil.rmtree(folder)
    load_text = "; ".join(" ".join(f"{x:.1f}" for x in load) for load in loads)
    niceness = os.nice(0)
    command = " ".join((["nice", "-n", str(niceness)] if niceness else []) + ["python"] + sys.argv)
    text = "\n".join([
        "# `cogd inpaint` on a large image: peak memory, and the output before the comparison",
        "",
        f"Command: `{command}`, which runs, in a fresh process each,",
        "`/usr/bin/time -v cogd inpaint big.png --missing 0.5 -o out.png [--no-baseline]` on a "
        "2000x3000 gray uint8 PNG",
        f"(scikit-image's {', '.join(PHOTOS)}, each resized to 1000x1000, in a 2x3 grid).",
        "Peak = the maximum resident set size `/usr/bin/time -v` reports (GB = 10^9 bytes).",
        "'Output line at' = when the line naming the output came, the output file then checked "
        "whole; 'comparing' = from then to the end (PSNR/SSIM of the output, the baseline in "
        "tiles and its PSNR/SSIM).",
        "",
        f"Machine: {cpu_description()}, shared with other jobs; load averages (1, 5, 15 min) "
        f"before, after the first and after the second run: {load_text}.",
        "",
        "| variant | wall s | peak GB | output line at (s) | comparing (s) | progress bars |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Printed lines, with the seconds since the start:",
        "",
        *details,
    ])
    print(text)
    with open(args.out, "w") as stream:
        stream.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
