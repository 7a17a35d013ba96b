#!/usr/bin/env bash
# The device run of issue #14, on a GPU machine without network (the repo copy with node_modules
# is carried): build, probe the GPU, conformance (ops, random models, goldens) on cuda (and on webgpu
# when Dawn finds a Vulkan adapter), then bench on the >= 1 B qwen2 bench model (batch-1 prefill and
# decode; batch-8 decode through `serve` + `bench serve`). Everything within 8 minutes; the report
# goes to $OUT/device-report.md with each step's raw output next to it. Fails fast and clearly at the
# first GPU step on a machine without one.
#
#   OUT=/tmp/out bench/device/run.sh [cuda|hip]
set -uo pipefail
cd "$(dirname "$0")/../.."
DEV="${1:-cuda}"
OUT="${OUT:-bench/out/device}"
mkdir -p "$OUT"
REPORT="$OUT/device-report.md"
START=$(date +%s)
CLI="node dist/src/cli/main.js"
export TESSERA_CACHE_DIR="${TESSERA_CACHE_DIR:-$OUT/../tessera-cache}"

left() { echo $(( 480 - ($(date +%s) - START) )); }
note() { echo "$*" | tee -a "$REPORT"; }
# step NAME SECONDS CMD...: runs with a timeout (never past the 8-minute budget), output to $OUT/NAME.log
step() {
  local name="$1" limit="$2"; shift 2
  local l; l=$(left); (( limit > l )) && limit=$l
  if (( limit <= 5 )); then note "- $name: SKIPPED (8-minute budget spent)"; return 124; fi
  local t0; t0=$(date +%s)
  timeout --kill-after=5 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  note "- $name: rc=$rc in $(( $(date +%s) - t0 )) s (limit ${limit} s)$( ((rc != 0)) && echo " -- $(tail -n 3 "$OUT/$name.log" | tr '\n' ' ')")"
  return $rc
}

: >"$REPORT"
note "# Tessera device run ($DEV) $(date -u +%FT%TZ)"
note ""
note "host: $(uname -srm); node $(node --version); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
note "nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo none); libnvrtc: $(ldconfig -p 2>/dev/null | grep -c libnvrtc) entries"
note ""
note "## steps"
step build 120 npx tsc -p tsconfig.json || { note "build failed"; exit 1; }
# first GPU step: one line naming what is missing, exit 1, when there is no driver or no GPU
step probe 90 $CLI run --device "$DEV" --prompt "To sort a list in Python, use" --max-tokens 8 || { note "no usable $DEV device: stopping here"; exit 1; }
note "  probe output: $(tail -n 2 "$OUT/probe.log" | tr '\n' ' ')"
step conformance 200 $CLI conformance --device "$DEV" --json
# the device must have run, not been skipped: every line passed, none skipped
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{"));
let bad = 0;
for (const l of lines) { const r = JSON.parse(l); const ok = !r.skipped && r.passed === r.total && r.total > 0;
  if (!ok) bad++; console.log(`  - ${r.backend} ${r.check}: ${r.skipped ? "SKIPPED " + r.skipped : r.passed + "/" + r.total + " worst " + JSON.stringify(r.worst)} ${ok ? "" : "<-- FAIL"}`); }
process.exit(lines.length && !bad ? 0 : 1);' "$OUT/conformance.log" | tee -a "$REPORT"
note "  conformance on $DEV: $( ((${PIPESTATUS[0]} == 0)) && echo PASS || echo FAIL)"
step webgpu-conformance 100 $CLI conformance --device webgpu --checks goldens --json || note "  (webgpu: no Vulkan adapter or failed; see webgpu-conformance.log)"

MODEL=bench/out/qwen2-bench/hf
if [ ! -f "$MODEL/config.json" ]; then step make-model 150 node dist/bench/make-model.js --model qwen2; fi
if [ -f "$MODEL/config.json" ]; then
  step bench-batch1 120 $CLI bench --model "$MODEL" --device "$DEV" --prompt-tokens 128,1024 --gen-tokens 32 --json
  sed 's/^/    /' "$OUT/bench-batch1.log" | tail -n 4 >>"$REPORT"
  # roofline: 4.8 TB/s / bytes read per decoded token (bench prints both); target >= 0.5
  node -e '
const ls = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{"));
for (const l of ls) { const r = JSON.parse(l); const bytes = r.weight_bytes_per_token; const tps = r.decode_tok_s;
  if (bytes && tps) console.log(`  - prompt ${r.prompt_tokens}: prefill ${r.prefill_tok_s.toFixed(1)} tok/s, decode ${tps.toFixed(1)} tok/s = ${(tps * bytes / 4.8e12).toFixed(3)} of the H200 HBM roofline (target >= 0.5)`);
  else console.log("  - " + l.slice(0, 300)); }' "$OUT/bench-batch1.log" | tee -a "$REPORT"
  if (( $(left) > 90 )); then
    PORT=18080
    $CLI serve --model "$MODEL" --device "$DEV" --port $PORT >"$OUT/serve.log" 2>&1 &
    SERVE=$!
    for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null 2>&1 && break; sleep 1; done
    step bench-batch8 $(( $(left) - 10 )) $CLI bench serve --url "http://127.0.0.1:$PORT" --concurrency 8 --requests 16 --input-len 64 --output-len 32 --json
    kill "$SERVE" 2>/dev/null; wait "$SERVE" 2>/dev/null
    tail -n 3 "$OUT/bench-batch8.log" | sed 's/^/    /' >>"$REPORT"
  fi
else
  note "- no bench model (make-model did not finish in time)"
fi
note ""
note "total $(( $(date +%s) - START )) s"
