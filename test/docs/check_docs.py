#!/usr/bin/env python3
"""Keeps the README a front door and the manual's links whole.

Usage: check_docs.py REPO_ROOT

Fails (exit 1, one line per problem) when README.md is over 12288 bytes, or when a relative
link or image in README.md, SECURITY.md or docs/*.md names a file
that does not exist, a path outside the checkout, or an #anchor that is no heading of its
target in GitHub's anchor style. http(s) and mailto links are not followed.
"""

import os
import re
import sys
import urllib.parse

README_LIMIT = 12288

FENCE = re.compile(r"^\s{0,3}(```|~~~)")
ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
# [text](target "title") and ![alt](target); the text may hold one level of brackets.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def strip_code_spans(line):
    return CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)


def lines_outside_fences(text):
    """Yields (line number, line) for the lines that are not inside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield number, line


def heading_text_to_plain(text):
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images: their alt text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    return text.replace("`", "")


def github_slug(text):
    """GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen."""
    plain = heading_text_to_plain(text).strip().lower()
    plain = re.sub(r"[^\w\- ]", "", plain)
    return plain.replace(" ", "-")


def anchors_of(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    anchors, seen = set(), {}
    previous = None
    for _, line in lines_outside_fences(text):
        heading = None
        m = ATX_HEADING.match(line)
        if m:
            heading = m.group(2)
        elif previous and previous.strip() and SETEXT_UNDERLINE.match(line) and \
                not previous.lstrip().startswith(("-", "*", "|", ">")):
            heading = previous.strip()
        previous = line
        if heading is None:
            continue
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else "%s-%d" % (slug, count))
    # Explicit HTML anchors: <a name="x"> or id="x".
    anchors.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text))
    return anchors


def links_of(text):
    for number, line in lines_outside_fences(text):
        line = strip_code_spans(line)
        for m in INLINE_LINK.finditer(line):
            yield number, m.group(1)
        m = REFERENCE_DEF.match(line)
        if m:
            yield number, m.group(1)


def check_file(root, path, anchor_cache):
    problems = []
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    root_real = os.path.realpath(root)
    for number, target in links_of(text):
        where = "%s:%d: link %r" % (rel, number, target)
        if not target:
            problems.append("%s: empty link target" % where)
            continue
        scheme = urllib.parse.urlsplit(target).scheme
        if scheme in ("http", "https", "mailto"):
            continue
        if scheme:
            problems.append("%s: only relative links, http(s) and mailto are allowed" % where)
            continue
        file_part, _, anchor = target.partition("#")
        file_part = urllib.parse.unquote(file_part)
        if file_part.startswith("/"):
            problems.append("%s: absolute path; link relative to the file instead" % where)
            continue
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part \
            else path
        dest_real = os.path.realpath(dest)
        if dest_real != root_real and not dest_real.startswith(root_real + os.sep):
            problems.append("%s: points outside the checkout" % where)
            continue
        if not os.path.exists(dest):
            problems.append("%s: no such file %s" % (where, os.path.relpath(dest, root)))
            continue
        if anchor:
            if os.path.isdir(dest) or not dest.endswith(".md"):
                problems.append("%s: an #anchor needs a Markdown file" % where)
                continue
            if dest not in anchor_cache:
                anchor_cache[dest] = anchors_of(dest)
            if urllib.parse.unquote(anchor).lower() not in anchor_cache[dest]:
                problems.append("%s: %s has no heading with the anchor #%s" %
                                (where, os.path.relpath(dest, root), anchor))
    return problems


def main(argv):
    if len(argv) != 2:
        print("usage: check_docs.py REPO_ROOT", file=sys.stderr)
        return 2
    root = argv[1]
    readme = os.path.join(root, "README.md")
    if not os.path.isfile(readme):
        print("check_docs: %s has no README.md" % root, file=sys.stderr)
        return 1
    problems = []
    size = os.path.getsize(readme)
    if size > README_LIMIT:
        problems.append("README.md is %d bytes, over the %d-byte limit: move the detail into "
                        "a page of docs/ and link it" % (size, README_LIMIT))
    docs_dir = os.path.join(root, "docs")
    files = [readme, os.path.join(root, "SECURITY.md")]
    if os.path.isdir(docs_dir):
        files += sorted(os.path.join(docs_dir, name) for name in os.listdir(docs_dir)
                        if name.endswith(".md") and os.path.isfile(os.path.join(docs_dir, name)))
    anchor_cache = {}
    for path in files:
        if os.path.isfile(path):
            problems += check_file(root, path, anchor_cache)
    for problem in problems:
        print("check_docs: " + problem, file=sys.stderr)
    if problems:
        return 1
    print("check_docs: README.md %d bytes (limit %d); links of %d files resolve" %
          (size, README_LIMIT, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
