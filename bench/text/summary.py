"""The text benchmark's summary (bench/text/run.sh): texts/s per server and
the issue's targets, RSS, and the cosine line.

    summary.py OUT_DIR
"""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])


def targets(name: str) -> dict:
    return {t["label"]: t for t in json.loads((out / name).read_text())["targets"]}


print("| texts per request | server | texts/s | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|")
rate = {}
for b in (1, 16):
    for label, t in targets(f"text-b{b}-c32.json").items():
        rate[b, label] = t["rps"] * b
        lat = t["latency_ms"]
        print(f"| {b} | {label} | {t['rps'] * b:.0f} | {lat['p50']:.1f} | {lat['p99']:.1f} | {t['errors']['total']} |")
print()
for b in (1, 16):
    ig = rate[b, "infergate"]
    st = ig / rate[b, "st"] if rate[b, "st"] else float("inf")
    fe = ig / rate[b, "fastembed"] if rate[b, "fastembed"] else float("inf")
    print(f"- {b} text(s) per request: infergate / sentence-transformers **{st:.1f}x** (target >= 10x: "
          f"{'met' if st >= 10 else 'NOT met'}), infergate / fastembed **{fe:.1f}x** (target >= 2x: "
          f"{'met' if fe >= 2 else 'NOT met'}).")
t = targets("batching-b1-c32.json")
ratio = t["batching"]["rps"] / t["no-batching"]["rps"]
per_round = sorted(a["rps"] / b["rps"] for a, b in zip(t["batching"]["rounds"], t["no-batching"]["rounds"]))
print(f"- Padding-aware batching on / off, one text per request of 10-120 tokens, c=32: **{ratio:.2f}x** "
      f"(rounds {', '.join(f'{r:.2f}x' for r in per_round)}; target >= 2x: {'met' if ratio >= 2 else 'NOT met'}); "
      f"p99 {t['batching']['latency_ms']['p99']:.1f} ms vs {t['no-batching']['latency_ms']['p99']:.1f} ms.")
rss = dict(line.split() for line in (out / "rss.txt").read_text().splitlines())
print("- RSS after the load (the server process; a Python server's worker processes, if any, not counted): "
      + ", ".join(f"{k} {int(v) // 1024} MB" for k, v in rss.items()) + ".")
print("- " + (out / "cosine.txt").read_text().strip())
print("- Texts: " + (out / "texts.txt").read_text().strip() + ".")
