#!/usr/bin/env python3
"""Unpacks the Article Extraction Benchmark pages (../shared/corpora/articles/aeb) into DIR and
writes DIR/pages.tsv, one page a line: key, path of the HTML file, the page's URL. Used by
bench/extraction.sh and bench/extraction-ab.sh.
Usage: bench/aeb-pages.py AEB_DIR DIR"""
import gzip, json, os, sys

aeb, tmp = sys.argv[1], sys.argv[2]
gt = json.load(open(os.path.join(aeb, 'ground-truth.json')))
with open(os.path.join(tmp, 'pages.tsv'), 'w') as f:
    for key, v in gt.items():
        path = os.path.join(tmp, key + '.html')
        open(path, 'wb').write(gzip.open(os.path.join(aeb, 'html', key + '.html.gz')).read())
        f.write(f"{key}\t{path}\t{v.get('url') or 'http://example.com/'}\n")
