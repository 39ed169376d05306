#!/usr/bin/env bash
# Article extraction quality and speed on the Article Extraction Benchmark (../shared/corpora/
# articles/aeb, 181 news pages): runs `gazette inspect --as article --json` on every page, writes
# {id: {"articleBody": text}} and scores it with ../shared/tools/score-articles.py.
# Usage: bench/extraction.sh [OUTPUT.json]   (pages/s includes one process start per page)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared
aeb=$shared/corpora/articles/aeb
[ -d "$aeb" ] || { echo "SKIP: $aeb is absent"; exit 0; }
out=${1:-bench/results/aeb-output.json}
mkdir -p "$(dirname "$out")"
cargo build --release --quiet
bin=target/release/gazette
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/aeb-pages.py "$aeb" "$tmp"
start=$(date +%s.%N)
while IFS=$'\t' read -r key path url; do
  "$bin" inspect "$path" --as article --json --url "$url" --content-type "text/html; charset=utf-8" > "$tmp/$key.json" 2>/dev/null || echo '{}' > "$tmp/$key.json"
done < "$tmp/pages.tsv"
end=$(date +%s.%N)
python3 - "$tmp" "$out" <<'PY'
import json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
res = {}
for line in open(os.path.join(tmp, 'pages.tsv')):
    key = line.split('\t')[0]
    try:
        doc = json.load(open(os.path.join(tmp, key + '.json')))
        text = (doc.get('entries') or [{}])[0].get('text') or ''
    except Exception:
        text = ''
    res[key] = {'articleBody': text}
json.dump(res, open(out, 'w'), ensure_ascii=False)
PY
pages=$(wc -l < "$tmp/pages.tsv")
echo "pages: $pages in $(python3 -c "print(f'{$end-$start:.1f}')") s = $(python3 -c "print(f'{$pages/($end-$start):.1f}')") pages/s (process per page, release build)"
python3 "$shared/tools/score-articles.py" "$out"
