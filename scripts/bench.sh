#!/usr/bin/env bash
# make bench: Go benchmarks, the ingress load generator, end-to-end latency,
# the whole pipeline, and the province-year history (a real child process).
# Figures vary with the (shared, noisy) machine: compare ratios measured in
# the same run.
#
# Environment: BENCHTIME, CLIENTS, DURATION, E2E_RATE, PIPELINE_DURATION,
# HISTORY (dossiers, default 100000; 0 skips), HISTORY_OPEN (default 5000),
# HISTORY_STORE (sqlite or postgres), HISTORY_PG_DSN (the admin DSN of a
# PostgreSQL server without password, e.g. $(scripts/postgres.sh dsn) after
# POSTGRES_FSYNC=on scripts/postgres.sh start).
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
echo "== whole pipeline: every role, webhook delivery (lienthong-bench -pipeline)" | tee -a "$out"
go run ./cmd/lienthong-bench -pipeline -clients "${CLIENTS:-64}" -duration "${PIPELINE_DURATION:-15s}" 2>&1 | tee -a "$out"
if [[ "${HISTORY:-100000}" != 0 ]]; then
	echo "== province-year history (lienthong-bench -history)" | tee -a "$out"
	go run ./cmd/lienthong-bench -history "${HISTORY:-100000}" -open "${HISTORY_OPEN:-5000}" \
		-store "${HISTORY_STORE:-sqlite}" -pg-dsn "${HISTORY_PG_DSN:-}" 2>&1 | tee -a "$out"
fi
echo "results in $out"
