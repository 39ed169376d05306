#!/usr/bin/env python3
"""Cold ingest of two gazette builds on the same farm behind nginx, in alternating rounds
(A, B, A, B, ...): each round polls the whole farm once into an empty archive. Prints each
round and the medians (wall s, CPU s, peak RSS MB, unique articles) and B/A ratios. For
changes on the write path (issue 20: the near-duplicate tier must keep cold ingest within 15%).
Needs nginx and GNU time (bench/run installs them).
Usage: bench/cold-ab.py BIN_A BIN_B [--rounds 5] [--feeds 500]"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--feeds", type=int, default=500)
args = ap.parse_args()
work = tempfile.mkdtemp(prefix="gazette-cold-ab-")
www = os.path.join(work, "www")
subprocess.run([sys.executable, os.path.join(harness.ROOT, "bench", "farm.py"), f"{www}/a", str(args.feeds)],
               check=True)
subprocess.run(["chmod", "-R", "a+rX", work], check=True)
port = harness.start_nginx(work, www)
try:
    sources = [(f"f{i}", f"http://127.0.0.1:{port}/a/f{i}.xml", None) for i in range(args.feeds)]
    runs = {"A": [], "B": []}
    for r in range(args.rounds):
        for side, binary in (("A", args.a), ("B", args.b)):
            d = os.path.join(work, f"{side}{r}")
            os.makedirs(d)
            cfg = os.path.join(d, "feeds.toml")
            harness.write_config(cfg, sources, harness.free_port())
            t = harness.timed([binary, "--config", cfg, "poll"])
            if t["code"] != 0:
                raise SystemExit(f"{side} failed: {t['err'][-2000:]}")
            out = subprocess.run([binary, "--config", cfg, "articles", "--limit", "100000000"],
                                 capture_output=True, text=True).stdout
            t["unique"] = len(out.splitlines())
            runs[side].append(t)
            print(f"round {r + 1} {side}: wall {t['wall']:.2f} s, CPU {t['cpu']:.2f} s, "
                  f"peak RSS {t['rss_mb']:.0f} MB, {t['unique']} articles", flush=True)
            shutil.rmtree(d)
    med = {s: {k: statistics.median(x[k] for x in runs[s]) for k in ("wall", "cpu", "rss_mb", "unique")}
           for s in runs}
    for s in ("A", "B"):
        m = med[s]
        print(f"median {s}: wall {m['wall']:.2f} s, CPU {m['cpu']:.2f} s, peak RSS {m['rss_mb']:.0f} MB, "
              f"{m['unique']:.0f} articles")
    print(f"B/A: wall {med['B']['wall'] / med['A']['wall']:.3f}, CPU {med['B']['cpu'] / med['A']['cpu']:.3f}, "
          f"peak RSS {med['B']['rss_mb'] / med['A']['rss_mb']:.3f}")
finally:
    subprocess.run(["nginx", "-c", f"{work}/nginx.conf", "-p", f"{work}/nginx", "-s", "stop"], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
