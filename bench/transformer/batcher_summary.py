"""The batcher bench's verdicts: throughput with the batcher over without
(target >= 3x), and p99 with the batcher against --max-latency + 2x the
predictor's time for one 32-row request (its p50 at concurrency 1).

    python3 bench/transformer/batcher_summary.py OUT_DIR MAX_LATENCY_MS
"""
import json
import sys

out, max_latency = sys.argv[1], float(sys.argv[2])
compute = {t["label"]: t["latency_ms"]["p50"] for t in json.load(open(f"{out}/batch32.json"))["targets"]}
predictor = {"infergate-v1": "infergate-predictor", "infergate-grpc": "infergate-predictor", "kserve-v1": "kserve-sklearn"}
print()
print("| predictor, protocol | req/s batcher / none | p99 batcher (ms) | bound: max latency + 2 x batch of 32 (ms) | within |")
print("|---|---|---|---|---|")
for run, pred in predictor.items():
    t = {x["label"]: x for x in json.load(open(f"{out}/{run}.json"))["targets"]}
    ratio = t["batcher"]["rps"] / t["no-batcher"]["rps"]
    p99 = t["batcher"]["latency_ms"]["p99"]
    bound = max_latency + 2 * compute[pred]
    print(f"| {run} | {ratio:.2f}x | {p99:.2f} | {bound:.2f} | {'yes' if p99 <= bound else 'no'} |")
