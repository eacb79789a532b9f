"""Latency a transformer adds over calling the predictor directly, from
infergate-loadtest reports with targets `direct`, `infergate` and `kserve`
(and optionally `nginx` / `haproxy`, plain proxies, for scale).

    python3 bench/transformer/added_latency.py REPORT.json [...]
"""
import json
import sys

PROXIES = ("nginx", "haproxy")

reports = [json.load(open(path)) for path in sys.argv[1:]]
proxies = [p for p in PROXIES if any(p in {t["label"] for t in r["targets"]} for r in reports)]
extra = "".join(f" {p} adds (ms) |" for p in proxies)
print()
print(f"| concurrency | percentile | infergate adds (ms) | KServe adds (ms) |{extra} KServe / infergate | req/s infergate / KServe |")
print("|---|---|---|---|" + "---|" * len(proxies) + "---|---|")
for r in reports:
    t = {x["label"]: x for x in r["targets"]}
    conc = r["config"].get("concurrency", "")
    for p in ("p50", "p99"):
        direct = t["direct"]["latency_ms"][p]
        added = {k: t[k]["latency_ms"][p] - direct for k in t if k != "direct"}
        ig, ks = added["infergate"], added["kserve"]
        ratio = f"{ks / ig:.0f}x" if ig > 0 else "n/a"
        rps = t["infergate"]["rps"] / t["kserve"]["rps"]
        cols = "".join(f" {added[k]:.3f} |" if k in added else " - |" for k in proxies)
        print(f"| {conc} | {p} | {ig:.3f} | {ks:.3f} |{cols} {ratio} | {rps:.1f}x |")
