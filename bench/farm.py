#!/usr/bin/env python3
"""Deterministic loopback feed farm: N RSS 2.0 feeds of K items (default 50: ~40-60 KB each, HTML
content). About 10% of items are the same story syndicated on several feeds (same title up to
case and white space, same date), so the number of unique articles is known exactly: one per
story, or as many as the most copies of it one feed lists (a feed's two entries are never one
article).

usage: farm.py DIR N [--items K] [--name NAME]
  -> writes DIR/{NAME}{i}.xml and DIR/manifest.json
NAME (default "f") also seeds the generator and prefixes every title, so two farms with
different names share no story.
"""
import argparse, json, os, random, zlib
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--name", default="f")
    args = ap.parse_args()
    out, n, k, name = args.dir, args.n, args.items, args.name
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(20261125 + zlib.crc32(name.encode()) if name != "f" else 20261125)
    words = ("patent innovation district science park office agency cluster zone policy market "
             "research company growth report city council budget energy transport education").split()
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    label = "" if name == "f" else f"{name.upper()} "
    shared = []  # (title, date) of syndicated stories
    for s in range(max(1, n * k // 10 // 3)):
        title = f"{label}Shared story {s}: " + " ".join(rnd.choice(words) for _ in range(6))
        shared.append((title, base + timedelta(minutes=17 * s)))
    # per title, the most copies one feed carries: within one source two guids are two entries
    # (issue 20), so a story a feed lists twice is two articles, which other feeds' copies join
    copies = {}
    for i in range(n):
        carried = {}
        items = []
        for j in range(k):
            if rnd.random() < 0.10:
                title, date = rnd.choice(shared)
                if rnd.random() < 0.5:
                    title = "  " + title.upper() + " "
            else:
                title = f"{label}Feed {i} story {j}: " + " ".join(rnd.choice(words) for _ in range(7))
                date = base + timedelta(hours=i, minutes=j * 7)
            key = " ".join(title.lower().split())
            carried[key] = carried.get(key, 0) + 1
            body = "".join(f"<p>{' '.join(rnd.choice(words) for _ in range(rnd.randint(25, 45)))}.</p>" for _ in range(rnd.randint(2, 3)))
            items.append(
                f"<item><title>{title}</title><link>http://farm.example/{name}/{i}/{j}</link>"
                f"<guid isPermaLink=\"false\">farm-{name}-{i}-{j}</guid><pubDate>{format_datetime(date)}</pubDate>"
                f"<description><![CDATA[{body}]]></description></item>"
            )
        doc = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Farm feed {name}{i}</title>"
               f"<link>http://farm.example/{name}/{i}/</link><description>bench</description>{''.join(items)}</channel></rss>")
        with open(os.path.join(out, f"{name}{i}.xml"), "w") as f:
            f.write(doc)
        for key, c in carried.items():
            copies[key] = max(copies.get(key, 0), c)
    # shared stories are one article per (title, date) (titles here already identify them), or
    # as many as the most copies one feed lists
    json.dump({"feeds": n, "items": n * k, "unique_articles": sum(copies.values())},
              open(os.path.join(out, "manifest.json"), "w"))

main()
