"""The proxy bench's summary table against the issue's targets, from the
infergate-loadtest reports bench/proxy/run.sh wrote (targets `direct`,
`infergate`, `nginx`, `haproxy`) and the proxies' resident memory.

    python3 bench/proxy/summary.py OUT_DIR "IG NGINX HAPROXY" "IG NGINX HAPROXY"

(the two strings: kB idle after start, kB idle after the load)
"""
import json
import sys

out, rss_start, rss_after = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
PROXIES = ("infergate", "nginx", "haproxy")


def targets(name):
    return {t["label"]: t for t in json.load(open(f"{out}/{name}.json"))["targets"]}


c64, c1, open_loop, grpc = (targets(n) for n in ("rest-c64", "rest-c1", "rest-open-loop", "grpc-c64"))
print()
print("| measure | infergate proxy | nginx | haproxy | infergate / nginx |")
print("|---|---|---|---|---|")


def row(label, values, fmt, ratio=True):
    cells = " | ".join(fmt.format(v) for v in values)
    r = f"{values[0] / values[1]:.2f}x" if ratio and values[1] else "-"
    print(f"| {label} | {cells} | {r} |")


row("REST req/s, c64", [c64[p]["rps"] for p in PROXIES], "{:.0f}")
direct_p50 = c1["direct"]["latency_ms"]["p50"]
row("REST added p50 ms, c1", [c1[p]["latency_ms"]["p50"] - direct_p50 for p in PROXIES], "{:.3f}")
row("REST p99 ms, open loop", [open_loop[p]["latency_ms"]["p99"] for p in PROXIES], "{:.3f}")
row("gRPC req/s, c64", [grpc[p]["rps"] for p in PROXIES], "{:.0f}")
row("idle RSS MB after start", [int(k) / 1024 for k in rss_start], "{:.1f}")
row("idle RSS MB after the load", [int(k) / 1024 for k in rss_after], "{:.1f}")
errors = {p: sum(t[p]["errors"]["total"] for t in (c64, c1, open_loop, grpc)) for p in PROXIES}
print()
print("Errors over all runs: " + ", ".join(f"{p} {n}" for p, n in errors.items()) + ".")
print("Targets (issue 13): req/s >= 1.0x nginx, added p50 and p99 <= nginx's, idle RSS <= 15 MB.")
