#!/usr/bin/env bash
# Page publication dates on htmldate's MediaCloud pages (../shared/corpora/articles/
# dates-mediacloud, 200 pages): runs `gazette inspect --as article --json` on every page and
# scores it with ../shared/tools/score-dates.py twice: the day the page wrote (published_local)
# and the UTC day (published). A page dated from its first-seen time counts as no answer.
# Usage: bench/dates.sh [BINARY]   (default: a release build of this tree)
set -euo pipefail
cd "$(dirname "$0")/.."
base=../shared/corpora/articles/dates-mediacloud
[ -d "$base" ] || { echo "SKIP: $base is absent"; exit 0; }
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet
  bin=target/release/gazette
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$bin" "$base" "$tmp" <<'PY'
import gzip, json, os, subprocess, sys
bin, base, tmp = sys.argv[1:4]
truth = json.load(open(os.path.join(base, 'ground-truth.json')))
local, utc = {}, {}
for url, v in truth.items():
    page = os.path.join(tmp, 'page.html')
    open(page, 'wb').write(gzip.open(os.path.join(base, 'html', v['file'])).read())
    run = subprocess.run([bin, 'inspect', page, '--as', 'article', '--json', '--url', url],
                         capture_output=True, text=True)
    l = u = None
    try:
        e = json.loads(run.stdout)['entries'][0]
        if e.get('date_source') != 'first_seen':
            l = (e.get('published_local') or e.get('published') or '')[:10] or None
            u = (e.get('published') or '')[:10] or None
    except (ValueError, KeyError, IndexError):
        pass
    local[url] = {'date': l}
    utc[url] = {'date': u}
json.dump(local, open(os.path.join(tmp, 'local.json'), 'w'))
json.dump(utc, open(os.path.join(tmp, 'utc.json'), 'w'))
PY
echo -n "day the page wrote: "; python3 ../shared/tools/score-dates.py "$tmp/local.json"
echo -n "UTC day:            "; python3 ../shared/tools/score-dates.py "$tmp/utc.json"
