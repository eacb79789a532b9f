"""Markdown tables from infergate-loadtest JSON reports.

    python3 bench/report.py REPORT.json [REPORT.json ...]

One row per target (requests/s, p50, p99, errors), then the first target of
each report against the others (the tool's own ratios).
"""
import json
import sys

print("| run | target | concurrency | req/s | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|---|")
ratios = []
for path in sys.argv[1:]:
    r = json.load(open(path))
    conc = r["config"].get("concurrency", "")
    run = path.rsplit("/", 1)[-1].removesuffix(".json")
    for t in r["targets"]:
        lat = t["latency_ms"]
        errors = t["errors"]["total"]
        print(f"| {run} | {t['label']} | {conc} | {t['rps']:.0f} | {lat['p50']:.3f} | {lat['p99']:.3f} | {errors} |")
    for c in r.get("comparison", []):
        ratios.append((run, c))
if ratios:
    print()
    print("| run | subject / baseline | req/s ratio | p50 ratio | p99 ratio |")
    print("|---|---|---|---|---|")
    for run, c in ratios:
        print(f"| {run} | {c['subject']} / {c['baseline']} | {c['rps_ratio']:.2f}x | {c['p50_ratio']:.3f} | {c['p99_ratio']:.3f} |")
