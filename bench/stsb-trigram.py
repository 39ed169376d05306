#!/usr/bin/env python3
"""Baseline for near-duplicate titles (issue 20): pg_trgm's similarity (words lower-cased, each
padded "  word ", the set of character trigrams, |A & B| / |A | B|) on the people-scored headline
pairs of ../shared/corpora/dedup/stsb-headlines.tsv (>= 4: the same story; < 3: not; 3-4 left
out), precision and recall of "similar enough" at each threshold. TT-RSS merges at 0.6.
Usage: bench/stsb-trigram.py"""
import csv, os, re, sys
def trgms(s):
    out=set()
    for w in re.findall(r'\w+', s.lower()):
        w='  '+w+' '
        for i in range(len(w)-2): out.add(w[i:i+3])
    return out
def sim(a,b):
    A,B=trgms(a),trgms(b)
    return len(A&B)/len(A|B) if A|B else 0
rows=[]
for r in csv.DictReader(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'corpora', 'dedup', 'stsb-headlines.tsv')), delimiter='\t'):
    s=float(r['score'])
    if s>=4: lab=1
    elif s<3: lab=0
    else: continue
    rows.append((sim(r['title_a'],r['title_b']),lab))
pos=sum(l for _,l in rows)
for t in [0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7]:
    tp=sum(1 for s,l in rows if s>=t and l); fp=sum(1 for s,l in rows if s>=t and not l)
    print(f't={t:.2f} merged={tp+fp} P={tp/max(1,tp+fp):.3f} R={tp/pos:.3f}')
