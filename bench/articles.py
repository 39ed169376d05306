#!/usr/bin/env python3
"""A deterministic gazette export (JSON Lines, format gazette-export/1) of N distinct articles
spread over S sources, for `gazette import`: archives of 25k, 250k and 1M articles are built
through the real import path (dedup lookup, curation, indexes) without polling 20,000 feeds.

Each article has ~1.2 KB of text and its HTML, like the feed farm's items; ids and dedup keys
are computed exactly as gazette computes them (sha256 of the normalized title and the
publication second), so `gazette verify` accepts the result.

usage: articles.py N [--sources S] > export.jsonl
"""
import argparse, hashlib, json, random, struct, sys
from datetime import datetime, timedelta, timezone

WORDS = ("patent innovation district science park office agency cluster zone policy market "
         "research company growth report city council budget energy transport education").split()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--sources", type=int, default=500)
    args = ap.parse_args()
    rnd = random.Random(1_000_003)
    out = sys.stdout
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    seen = base + timedelta(days=800)
    out.write(json.dumps({"header": {"format": "gazette-export/1", "schema": 1, "exported_at": iso(seen)}}) + "\n")
    # a pool of paragraphs keeps generation fast while bodies still differ article to article
    pool = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(40, 70))) + "." for _ in range(512)]
    for i in range(args.n):
        src = f"a{i % args.sources}"
        title = f"Archive story {i}: " + " ".join(rnd.choice(WORDS) for _ in range(6))
        norm = " ".join(title.lower().replace(":", " ").split())
        published = base + timedelta(seconds=60 * i)
        ts = int(published.timestamp())
        aid = hashlib.sha256(norm.encode() + b"\n" + struct.pack(">q", ts)).hexdigest()[:16]
        paras = [pool[rnd.randrange(len(pool))] for _ in range(3)]
        url = f"http://archive.example/{src}/{i}"
        out.write(json.dumps({"article": {
            "id": aid, "title": title, "url": url, "published": iso(published),
            "date_source": "entry", "first_seen": iso(seen), "updated": iso(seen),
            "sources": [src], "links": [{"source": src, "url": url, "guid": f"arch-{i}"}],
            "author": None, "language": "en", "summary": paras[0][:200],
            "text": "\n\n".join(paras), "html": "".join(f"<p>{p}</p>" for p in paras),
            "content_source": src, "categories": [], "enclosures": [],
            "dedup_keys": [{"title": norm, "published": iso(published)}], "topics": [],
        }}, separators=(",", ":")) + "\n")


main()
