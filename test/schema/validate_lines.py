#!/usr/bin/env python3
"""Checks event-stream and flow lines against throttlewatch's JSON Schemas (schema/).

  validate_lines.py [--schemas DIR] FILE...        check these files (.jsonl)
  validate_lines.py [--schemas DIR] --walk DIR     check every *.jsonl under DIR

Every line is one JSON object whose "record" picks its schema: "header" and "event" lines
against event.v<N>.schema.json, "flow" lines against flow.v<N>.schema.json, N being the line's
"schema". A line without a record, of an unknown record or version, or not JSON fails. So does a
run that checked no line at all: a check that found nothing to check proves nothing.

Used as a module by the script-driven tests: check_files() raises SchemaError on the first
file with a bad line, and keep() copies files to $TW_SCHEMA_LINES (when set) for the suite's
final check (the schema_lines_check test), which walks that directory.
Needs python3-jsonschema (Debian 12's 4.10 or later).
"""
import argparse
import json
import os
import shutil
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMAS = os.path.join(HERE, "..", "..", "schema")
SCHEMA_OF_RECORD = {"header": "event", "event": "event", "flow": "flow"}
MAX_ERRORS = 20


class SchemaError(Exception):
    pass


class Checker:
    """The validators of a schema directory, and what they checked."""

    def __init__(self, schema_dir=DEFAULT_SCHEMAS):
        self.validators = {}
        for name in sorted(os.listdir(schema_dir)):
            if not name.endswith(".schema.json"):
                continue
            with open(os.path.join(schema_dir, name)) as f:
                schema = json.load(f)
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            kind, version = name[:-len(".schema.json")].split(".v")
            self.validators[(kind, int(version))] = cls(schema)
        if not self.validators:
            raise SchemaError("no *.schema.json in %s" % schema_dir)
        self.counts = {}
        self.files = 0
        self.errors = []

    def line(self, where, text):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            return self.errors.append("%s: not JSON: %s" % (where, e))
        if not isinstance(obj, dict):
            return self.errors.append("%s: not a JSON object" % where)
        record, version = obj.get("record"), obj.get("schema")
        v = self.validators.get((SCHEMA_OF_RECORD.get(record), version))
        if v is None:
            return self.errors.append("%s: no schema for record %r, schema %r" %
                                      (where, record, version))
        for e in v.iter_errors(obj):
            path = "/".join(str(p) for p in e.absolute_path) or "(line)"
            self.errors.append("%s: %s: %s" % (where, path, e.message))
        self.counts[record] = self.counts.get(record, 0) + 1

    def file(self, path):
        self.files += 1
        with open(path, encoding="ascii", errors="replace") as f:
            for n, text in enumerate(f, 1):
                if text.strip():
                    self.line("%s:%d" % (path, n), text)

    def total(self):
        return sum(self.counts.values())

    def summary(self):
        parts = ", ".join("%d %s" % (n, r) for r, n in sorted(self.counts.items()))
        return "%d lines in %d files (%s)" % (self.total(), self.files, parts or "none")


def check_files(paths, schema_dir=DEFAULT_SCHEMAS):
    """Validates the files; raises SchemaError naming the bad lines. Returns the Checker."""
    c = Checker(schema_dir)
    for p in paths:
        c.file(p)
    if c.errors:
        raise SchemaError("lines that do not match the schema:\n  " +
                          "\n  ".join(c.errors[:MAX_ERRORS]))
    return c


_kept = [0]


def keep(paths, name):
    """Copies the files to $TW_SCHEMA_LINES for the final check, as <name>-<pid>-<n>-<base name>
    (one process may keep many files of one name)."""
    where = os.environ.get("TW_SCHEMA_LINES")
    if not where:
        return
    os.makedirs(where, exist_ok=True)
    for p in paths:
        if os.path.exists(p):
            _kept[0] += 1
            base = os.path.basename(p)
            base += "" if base.endswith(".jsonl") else ".jsonl"
            shutil.copyfile(p, os.path.join(where, "%s-%d-%d-%s" % (
                name, os.getpid(), _kept[0], base)))


def check_and_keep(path, name):
    """A test's own output file: validated (exits naming the bad lines) and kept for the final
    check."""
    try:
        check_files([path])
    except SchemaError as e:
        raise SystemExit("%s: %s" % (path, e))
    keep([path], name)


def walk(top):
    for d, _, names in os.walk(top):
        for n in sorted(names):
            if n.endswith(".jsonl"):
                yield os.path.join(d, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schemas", default=DEFAULT_SCHEMAS, help="directory of *.schema.json")
    ap.add_argument("--walk", help="check every *.jsonl under this directory")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    paths = list(a.files) + (sorted(walk(a.walk)) if a.walk and os.path.isdir(a.walk) else [])
    try:
        c = check_files(paths, a.schemas)
    except (SchemaError, OSError) as e:
        print("FAILED: %s" % e)
        return 1
    print("schema: %s" % c.summary())
    if c.total() == 0:
        print("FAILED: no line to check%s" % (" under " + a.walk if a.walk else ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
