#!/usr/bin/env python3
"""Checks that #include edges between the source rooms go one way only.

usage: .ci/check_layers.py   (from the top of the checkout; exits 1 on any violation)
A file's room is the longest room path that prefixes it; an include of "room/x.h" from a file of
another room must be an edge the table below allows. Tests, benchmarks and fuzz targets may
include any room. The table is the dependency direction each CMakeLists states in its first line.
"""
import re
import subprocess
import sys

ALLOWED = {
    'util': set(),
    'capture': {'util'},
    'stats': {'util'},
    'detector/core': {'util', 'capture', 'stats'},
    'detector/pipeline': {'util', 'capture', 'stats', 'detector/core'},
    'detector/outputs': {'util', 'capture', 'stats', 'detector/core'},
    'detector/daemon': {'util', 'capture', 'stats', 'detector/core', 'detector/pipeline',
                        'detector/outputs'},
    'detector/app': {'util', 'capture', 'stats', 'detector/core', 'detector/pipeline',
                     'detector/outputs', 'detector/daemon'},
}
# Files still directly in detector/ (before its split into rooms) form one room of their own.
ALLOWED['detector'] = {'util', 'capture', 'stats'}


def room(path):
    return next((r for r in sorted(ALLOWED, key=len, reverse=True) if path.startswith(r + '/')),
                None)


def main():
    files = subprocess.run(['git', 'ls-files', '*.cc', '*.h'], capture_output=True, text=True,
                           check=True).stdout.split()
    bad = 0
    for f in files:
        a = room(f)
        if a is None:
            continue
        with open(f, encoding='utf-8', errors='replace') as src:
            for n, line in enumerate(src, 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                b = room(m.group(1)) if m else None
                if b and b != a and b not in ALLOWED[a]:
                    bad += 1
                    print(f'{f}:{n}: {a}/ must not include {m.group(1)} ({b}/)')
    print(f'{len(files)} files checked, {bad} includes against the direction', file=sys.stderr)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
