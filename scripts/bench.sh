#!/usr/bin/env bash
# make bench: Go benchmarks and the ingress load generator. Figures vary with
# the (shared, noisy) machine: compare ratios measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench-results.txt}
: >"$out"
echo "== machine" | tee -a "$out"
{ nproc; grep -m1 'model name' /proc/cpuinfo || true; go version; } | tee -a "$out"

echo "== go benchmarks" | tee -a "$out"
go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" \
  ./schemas/ ./router/... ./adapters/... ./internal/... 2>&1 | tee -a "$out"

echo "== ingress load (lienthong-bench)" | tee -a "$out"
go run ./cmd/lienthong-bench -clients "${CLIENTS:-64}" -duration "${DURATION:-10s}" 2>&1 | tee -a "$out"
echo "== end-to-end latency at 1,000 dossiers/s (lienthong-bench -e2e-rate)" | tee -a "$out"
go run ./cmd/lienthong-bench -e2e-rate "${E2E_RATE:-1000}" -duration "${DURATION:-10s}" 2>&1 | tee -a "$out"
echo "results in $out"
