#!/usr/bin/env python3
"""Deterministic loopback feed farm: N RSS 2.0 feeds of 50 items (~40-60 KB each, HTML content).
About 10% of items are the same story syndicated on several feeds (same title up to case and
white space, same date), so the number of unique articles is known exactly.
usage: farm.py DIR N   -> writes DIR/f{i}.xml and DIR/manifest.json
"""
import json, os, random, sys
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(20261125)
    words = ("patent innovation district science park office agency cluster zone policy market "
             "research company growth report city council budget energy transport education").split()
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    shared = []  # (title, date) of syndicated stories
    for s in range(max(1, n * 50 // 10 // 3)):
        title = f"Shared story {s}: " + " ".join(rnd.choice(words) for _ in range(6))
        shared.append((title, base + timedelta(minutes=17 * s)))
    titles = set()
    for i in range(n):
        items = []
        for j in range(50):
            if rnd.random() < 0.10:
                title, date = rnd.choice(shared)
                if rnd.random() < 0.5:
                    title = "  " + title.upper() + " "
            else:
                title = f"Feed {i} story {j}: " + " ".join(rnd.choice(words) for _ in range(7))
                date = base + timedelta(hours=i, minutes=j * 7)
            titles.add(" ".join(title.lower().split()))
            body = "".join(f"<p>{' '.join(rnd.choice(words) for _ in range(rnd.randint(60, 110)))}.</p>" for _ in range(rnd.randint(3, 5)))
            items.append(
                f"<item><title>{title}</title><link>http://farm.example/{i}/{j}</link>"
                f"<guid isPermaLink=\"false\">farm-{i}-{j}</guid><pubDate>{format_datetime(date)}</pubDate>"
                f"<description><![CDATA[{body}]]></description></item>"
            )
        doc = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Farm feed {i}</title>"
               f"<link>http://farm.example/{i}/</link><description>bench</description>{''.join(items)}</channel></rss>")
        with open(os.path.join(out, f"f{i}.xml"), "w") as f:
            f.write(doc)
    # shared stories are one article per (title, date); titles here already identify them
    json.dump({"feeds": n, "items": n * 50, "unique_articles": len(titles)}, open(os.path.join(out, "manifest.json"), "w"))

main()
