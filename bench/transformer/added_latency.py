"""Latency a transformer adds over calling the predictor directly, from
infergate-loadtest reports with targets `direct`, `infergate` and optionally
`kserve` (KServe's Python transformer) and `nginx` / `haproxy` (plain
proxies), then infergate against nginx: added p50 (issue 14's target: at
most 2x nginx's at c=1) and requests/s (at least 1.0x nginx's at c=64).

    python3 bench/transformer/added_latency.py REPORT.json [...]
"""
import json
import sys

PEERS = ("kserve", "nginx", "haproxy")

reports = [json.load(open(path)) for path in sys.argv[1:]]
peers = [p for p in PEERS if any(p in {t["label"] for t in r["targets"]} for r in reports)]
cols = "".join(f" {p} adds (ms) |" for p in peers)
print()
print(f"| concurrency | percentile | infergate adds (ms) |{cols}")
print("|---|---|---|" + "---|" * len(peers))
versus = []
for r in reports:
    t = {x["label"]: x for x in r["targets"]}
    conc = r["config"].get("concurrency", "")
    for p in ("p50", "p99"):
        direct = t["direct"]["latency_ms"][p]
        added = {k: t[k]["latency_ms"][p] - direct for k in t if k != "direct"}
        cells = "".join(f" {added[k]:.3f} |" if k in added else " - |" for k in peers)
        print(f"| {conc} | {p} | {added['infergate']:.3f} |{cells}")
    if "nginx" in t:
        d = t["direct"]["latency_ms"]["p50"]
        ig, ng = t["infergate"]["latency_ms"]["p50"] - d, t["nginx"]["latency_ms"]["p50"] - d
        versus.append((conc, ig / ng if ng > 0 else float("inf"), t["infergate"]["rps"] / t["nginx"]["rps"]))
    if "kserve" in t:
        versus_kserve = t["infergate"]["rps"] / t["kserve"]["rps"]
        print(f"| {conc} | req/s infergate / KServe | {versus_kserve:.1f}x |" + " |" * len(peers))
if versus:
    print()
    print("| concurrency | added p50, infergate / nginx | req/s, infergate / nginx |")
    print("|---|---|---|")
    for conc, lat, rps in versus:
        print(f"| {conc} | {lat:.2f}x | {rps:.2f}x |")
