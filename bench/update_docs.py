"""Splices a bench run's tables into docs/benchmarks.md and copies its plots
into docs/img/, so that the document shows the last run of each harness.

    python3 bench/update_docs.py NAME OUT_DIR

Replaces what lies between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`
with OUT_DIR/tables.md (and a dated line with the machine's load), and copies
OUT_DIR/plots/*/*.png to docs/img/NAME-<run>-<plot>.png.
"""
import datetime
import os
import pathlib
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"


def main(name: str, out: pathlib.Path) -> None:
    tables = (out / "tables.md").read_text().strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    stamp = f"Run of {datetime.date.today().isoformat()} (load average after: {load}):"
    body = f"<!-- bench:{name} -->\n{stamp}\n\n{tables}\n<!-- /bench:{name} -->"
    doc = DOC.read_text()
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    if not pattern.search(doc):
        sys.exit(f"docs/benchmarks.md has no <!-- bench:{name} --> block")
    DOC.write_text(pattern.sub(lambda _: body, doc))
    plots = sorted((out / "plots").glob("*/*.png")) if (out / "plots").is_dir() else []
    IMG.mkdir(exist_ok=True)
    for png in plots:
        shutil.copyfile(png, IMG / f"{name}-{png.parent.name}-{png.name}")
    print(f"docs/benchmarks.md: {name} tables updated; {len(plots)} plot(s) in docs/img/")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], pathlib.Path(sys.argv[2]))
