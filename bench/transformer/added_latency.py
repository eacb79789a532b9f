"""Latency a transformer adds over calling the predictor directly, from
infergate-loadtest reports with targets `direct`, `infergate` and `kserve`.

    python3 bench/transformer/added_latency.py REPORT.json [...]
"""
import json
import sys

print()
print("| concurrency | percentile | infergate adds (ms) | KServe adds (ms) | KServe / infergate | req/s infergate / KServe |")
print("|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    r = json.load(open(path))
    t = {x["label"]: x for x in r["targets"]}
    conc = r["config"].get("concurrency", "")
    for p in ("p50", "p99"):
        direct = t["direct"]["latency_ms"][p]
        ig = t["infergate"]["latency_ms"][p] - direct
        ks = t["kserve"]["latency_ms"][p] - direct
        ratio = f"{ks / ig:.0f}x" if ig > 0 else "n/a"
        rps = t["infergate"]["rps"] / t["kserve"]["rps"]
        print(f"| {conc} | {p} | {ig:.3f} | {ks:.3f} | {ratio} | {rps:.1f}x |")
