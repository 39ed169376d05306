#!/usr/bin/env bash
# Pages/s on the Article Extraction Benchmark pages, two gazette binaries compared in
# alternating rounds (the machines are shared and noisy: only a ratio from one run means much).
# Usage: bench/extraction-ab.sh BEFORE_BINARY AFTER_BINARY [ROUNDS]   (default 4 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
aeb=../shared/corpora/articles/aeb
[ -d "$aeb" ] || { echo "SKIP: $aeb is absent"; exit 0; }
before=$1 after=$2 rounds=${3:-4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/aeb-pages.py "$aeb" "$tmp"
pages=$(wc -l < "$tmp/pages.tsv")
run() {
  local bin=$1 start end
  start=$(date +%s.%N)
  while IFS=$'\t' read -r _key path url; do
    "$bin" inspect "$path" --as article --json --url "$url" --content-type "text/html; charset=utf-8" > /dev/null 2>&1 || true
  done < "$tmp/pages.tsv"
  end=$(date +%s.%N)
  python3 -c "print(f'{$pages/($end-$start):.2f}')"
}
b_all=() a_all=()
for r in $(seq "$rounds"); do
  b=$(run "$before"); a=$(run "$after")
  b_all+=("$b"); a_all+=("$a")
  echo "round $r: before $b pages/s, after $a pages/s"
done
python3 - "${b_all[*]}" "${a_all[*]}" <<'PY'
import statistics, sys
b = [float(x) for x in sys.argv[1].split()]; a = [float(x) for x in sys.argv[2].split()]
mb, ma = statistics.median(b), statistics.median(a)
print(f"median: before {mb:.1f} pages/s, after {ma:.1f} pages/s, after/before {ma/mb:.3f}")
PY
