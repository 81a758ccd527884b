#!/usr/bin/env python3
"""Scores `throttlewatch changepoints` on the Turing Change Point Dataset series of a folder.

usage: tcpd_score.py THROTTLEWATCH DATA_DIR [--check F1 COVER] [-- OPTION...]

DATA_DIR holds annotations.json and one folder per series (NAME/NAME.json, the data set's
format: series[0].raw). Each series is written one value per line (null as nan) and passed to
`THROTTLEWATCH changepoints` with the default options (plus any OPTION after --). Scores as the
data set's benchmark (van den Burg & Williams 2020, TCPD): the F1 of change points matched
within 5 indices (precision against the union of the annotators' points, recall averaged over
the annotators) and the segmentation cover averaged over the annotators, both counting the
start of the series as a change point; next to them what reporting no change point scores.

Exit status: 0, 1 when --check thresholds (averages strictly above F1 and COVER, and no series
below its no-change baseline) are not met or the binary fails, 77 when DATA_DIR is absent.
"""

import json
import os
import subprocess
import sys
import tempfile

MARGIN = 5


def true_positives(truth, predicted, margin=MARGIN):
    """Points of truth matched to a distinct prediction within margin (closest first)."""
    left = set(predicted)
    hits = set()
    for tau in sorted(truth):
        close = sorted((abs(tau - x), x) for x in left if abs(tau - x) <= margin)
        if close:
            hits.add(tau)
            left.remove(close[0][1])
    return hits


def f1(annotations, predicted):
    per_annotator = [set(a) | {0} for a in annotations.values()]
    points = set(predicted) | {0}
    union = set().union(*per_annotator)
    precision = len(true_positives(union, points)) / len(points)
    recall = sum(len(true_positives(t, points)) / len(t) for t in per_annotator) / len(per_annotator)
    return 2 * precision * recall / (precision + recall)


def partition(changes, n):
    bounds = [0] + sorted(c for c in set(changes) if 0 < c < n) + [n]
    return [range(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def cover(annotations, predicted, n):
    def jaccard(a, b):
        inter = max(0, min(a.stop, b.stop) - max(a.start, b.start))
        return inter / (len(a) + len(b) - inter)

    mine = partition(predicted, n)
    scores = []
    for truth in annotations.values():
        scores.append(sum(len(r) * max(jaccard(r, p) for p in mine) for r in partition(truth, n)) / n)
    return sum(scores) / len(scores)


def run(binary, values, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for v in values:
            f.write("nan\n" if v is None else repr(float(v)) + "\n")
        name = f.name
    try:
        out = subprocess.run([binary, "changepoints", *extra, name], capture_output=True,
                             text=True, check=True).stdout
    finally:
        os.unlink(name)
    return json.loads(out)


def main(argv):
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    check = None
    if "--check" in argv:
        i = argv.index("--check")
        check = (float(argv[i + 1]), float(argv[i + 2]))
        argv = argv[:i] + argv[i + 3:]
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    binary, data = argv[1], argv[2]
    if not os.path.isfile(os.path.join(data, "annotations.json")):
        print(f"skipped: no annotations.json in '{data}' (clone the shared data beside the repository)")
        return 77
    with open(os.path.join(data, "annotations.json")) as f:
        annotations = json.load(f)
    rows = []
    print(f"{'series':16} {'n':>5} {'found':>5} {'F1':>6} {'cover':>6} {'F1 none':>8} {'cover none':>10}")
    for name in sorted(annotations):
        with open(os.path.join(data, name, name + ".json")) as f:
            values = json.load(f)["series"][0]["raw"]
        n = len(values)
        changes = run(binary, values, extra)
        row = (f1(annotations[name], changes), cover(annotations[name], changes, n),
               f1(annotations[name], []), cover(annotations[name], [], n))
        rows.append(row)
        print(f"{name:16} {n:5d} {len(changes):5d} {row[0]:6.3f} {row[1]:6.3f} {row[2]:8.3f} {row[3]:10.3f}")
    avg = [sum(r[i] for r in rows) / len(rows) for i in range(4)]
    print(f"{'average':16} {'':5} {'':5} {avg[0]:6.3f} {avg[1]:6.3f} {avg[2]:8.3f} {avg[3]:10.3f}")
    if check is None:
        return 0
    worse = [r for r in rows if r[0] < r[2] - 1e-9 or r[1] < r[3] - 1e-9]
    ok = avg[0] > check[0] and avg[1] > check[1] and not worse
    print("check:", "ok" if ok else "FAILED",
          f"(F1 > {check[0]}, cover > {check[1]}, no series below its no-change baseline)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
