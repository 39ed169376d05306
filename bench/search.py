#!/usr/bin/env python3
"""Search latency (issue 22: p50 under 50 ms, p99 under 200 ms at 1M articles) over HTTP,
against `gazette run` on an archive of N articles (built with `gazette import`, which also
builds the search index), while the daemon ingests a feed farm served by nginx (every feed
polled every 10 s, each poll a cold ingest of new stories at first).

For each archive size: single-word, prefix, phrase, field and boolean queries, in rounds that
alternate the kinds; every request times the whole HTTP exchange of /search.json?q=.
Prints p50/p99 per kind and writes bench/results/search.json.

usage: bench/search.py [--sizes 100000,1000000] [--rounds 40] [--feeds 1000] [--bin PATH]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.parse
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

QUERIES = [
    ("word", "budget"),
    ("word", "patent"),
    ("prefix", "innov*"),
    ("phrase", '"science park"'),
    ("field", "title:energy"),
    ("field", "title:transport AND author:desk"),
    ("boolean", "(patent OR energy) AND NOT budget"),
    ("boolean", 'title:(council OR cluster) AND "market growth"'),
]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--bin", default=os.path.join(harness.ROOT, "target", "release", "gazette"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = tempfile.mkdtemp(prefix="gazette-search-")
    www = os.path.join(work, "www")
    subprocess.run([sys.executable, os.path.join(harness.ROOT, "bench", "farm.py"), f"{www}/a",
                    str(args.feeds)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["chmod", "-R", "a+rX", work], check=True)
    port = harness.start_nginx(work, www)
    gen = os.path.join(work, "gen.jsonl")
    with open(gen, "w") as f:
        subprocess.run([sys.executable, os.path.join(harness.ROOT, "bench", "articles.py"),
                        str(max(sizes)), "--sources", "500"], stdout=f, check=True)
    commit = subprocess.run(["git", "-C", harness.ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    results = {"date": datetime.now(timezone.utc).isoformat(), "commit": commit,
               "machine": os.uname().nodename,
               "cpus": os.cpu_count(), "feeds_ingesting": args.feeds, "rounds": args.rounds, "sizes": {}}
    try:
        for n in sizes:
            d = os.path.join(work, f"n{n}")
            os.makedirs(d)
            cfg = os.path.join(d, "feeds.toml")
            http_port = harness.free_port()
            sources = [(f"f{i}", f"http://127.0.0.1:{port}/a/f{i}.xml", "10s") for i in range(args.feeds)]
            harness.write_config(cfg, sources, http_port)
            part = os.path.join(work, "part.jsonl")
            with open(gen) as src, open(part, "w") as dst:
                for i, line in enumerate(src):
                    if i > n:
                        break
                    dst.write(line)
            imp = harness.timed([args.bin, "--config", cfg, "import", part], timeout=7200)
            if imp["code"] != 0:
                raise SystemExit(f"import failed: {imp['err'][-2000:]}")
            os.unlink(part)
            print(f"{n} articles imported and indexed in {imp['wall']:.0f} s "
                  f"(peak RSS {imp['rss_mb']:.0f} MB)", flush=True)
            daemon = harness.Daemon(cfg, http_port)
            status = {}
            for _ in range(600):
                status = json.loads(harness.http_get(daemon.url("/status.json"))[2]).get("search") or {}
                if status.get("ready"):
                    break
                time.sleep(1)
            lat = {q: [] for q in QUERIES}
            counts = {}
            t0 = time.monotonic()
            for r in range(args.rounds):
                order = QUERIES if r % 2 == 0 else list(reversed(QUERIES))
                for q in order:
                    url = daemon.url("/search.json?q=" + urllib.parse.quote(q[1]))
                    s = time.monotonic()
                    code, _, body = harness.http_get(url)
                    lat[q].append((time.monotonic() - s) * 1000)
                    if code != 200:
                        raise SystemExit(f"{q[1]}: HTTP {code}: {body[:300]!r}")
                    counts[q] = len(json.loads(body)["items"])
            during = time.monotonic() - t0
            polled = json.loads(harness.http_get(daemon.url("/status.json"))[2])
            stored = sum(s.get("articles", 0) or 0 for s in polled["sources"] if s["id"].startswith("f"))
            peak = daemon.stop()
            kinds = {}
            for kind in dict.fromkeys(k for k, _ in QUERIES):
                xs = [x for q, v in lat.items() if q[0] == kind for x in v]
                kinds[kind] = {"p50_ms": pct(xs, 50), "p99_ms": pct(xs, 99), "requests": len(xs)}
            every = [x for v in lat.values() for x in v]
            row = {"articles": n, "import_s": imp["wall"], "kinds": kinds,
                   "all": {"p50_ms": pct(every, 50), "p99_ms": pct(every, 99), "requests": len(every)},
                   "results_per_query": {q[1]: c for q, c in counts.items()},
                   "per_query": {q[1]: {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99)} for q, v in lat.items()},
                   "index_documents": status.get("documents"),
                   "farm_articles_stored_by_then": stored, "query_phase_s": during, "daemon_peak_rss_mb": peak}
            results["sizes"][str(n)] = row
            print(f"{n} articles (ingesting {args.feeds} feeds meanwhile; {stored} of their articles "
                  f"stored by the end):", flush=True)
            for kind, v in kinds.items():
                print(f"  {kind:8} p50 {v['p50_ms']:6.1f} ms  p99 {v['p99_ms']:6.1f} ms  ({v['requests']} requests)")
            for q, v in lat.items():
                print(f"    {q[1]:50} p50 {pct(v, 50):6.1f} ms  p99 {pct(v, 99):6.1f} ms  {counts[q]} results")
            print(f"  all      p50 {row['all']['p50_ms']:6.1f} ms  p99 {row['all']['p99_ms']:6.1f} ms; "
                  f"daemon peak RSS {peak:.0f} MB", flush=True)
            shutil.rmtree(d)
    finally:
        os.makedirs(os.path.join(harness.ROOT, "bench", "results"), exist_ok=True)
        with open(os.path.join(harness.ROOT, "bench", "results", "search.json"), "w") as f:
            json.dump(results, f, indent=1)
        # nginx before its directory (its atexit stop needs the config)
        subprocess.run(["nginx", "-c", f"{work}/nginx.conf", "-p", f"{work}/nginx", "-s", "stop"],
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
