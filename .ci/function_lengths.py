#!/usr/bin/env python3
"""Lists functions longer than a limit, so that every function stays one a reader can hold.

usage: .ci/function_lengths.py [--fail] [--limit N] [DIR or FILE...]   (default: the source folders)
Prints `lines  path:first-last  name` for each function over the limit (default 100 lines,
signature to closing brace). With --fail, exits 1 when it printed any. Tests are not checked.

A heuristic brace matcher, not a parser: comments, string and raw-string literals and
preprocessor lines are blanked first; a `{` opens a function when the text before it, back to the
last `;`, `{` or `}`, has parentheses and is not a control statement, a lambda or an initialiser.
"""
import os
import re
import sys

SOURCE_ROOTS = ['util', 'capture', 'stats', 'detector', 'bench', 'fuzz']
CONTROL = re.compile(r'^\s*(if|for|while|switch|catch|else|do|try)\b')


def strip(src):
    """Blanks comments, literals and preprocessor lines, keeping every newline in place."""
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
            continue
        if src.startswith('/*', i):
            j = src.find('*/', i) + 2
            out.append(re.sub(r'[^\n]', ' ', src[i:j]))
            i = j
            continue
        m = re.match(r'R"([^(]*)\(', src[i:i + 20])
        if m:
            end = ')' + m.group(1) + '"'
            j = src.find(end, i) + len(end)
            out.append(re.sub(r'[^\n]', ' ', src[i:j]))
            i = j
            continue
        c = src[i]
        if c == '"' or (c == "'" and not (i > 0 and src[i - 1].isalnum())):
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == '\\' else 1
            j += 1
            out.append(c + ' ' * (j - i - 2) + c)
            i = j
            continue
        out.append(c)
        i += 1
    lines = ''.join(out).split('\n')
    return '\n'.join(' ' * len(l) if l.lstrip().startswith('#') else l for l in lines)


def opens_function(head):
    if re.search(r'^(namespace|class|struct|union|enum|extern)\b', head):
        return False
    if re.search(r'\b(class|struct|union|enum)\s+\w+[^()]*$', head):
        return False
    if re.search(r'=\s*$', head) or head.endswith(']') or head == '':
        return False
    return ('(' in head and not CONTROL.match(head) and not re.search(r'=\s*\[', head)
            and not re.match(r'^(return|case|default)\b', head))


def functions(path):
    """Yields (lines, first, last, name) for each function body in the file."""
    s = strip(open(path, encoding='utf-8', errors='replace').read())
    infunc, depth, last = None, 0, 0
    for i, c in enumerate(s):
        if c == ';' and infunc is None:
            last = i + 1
        elif c == '{':
            if infunc is None:
                head = s[last:i].strip()
                if opens_function(head):
                    k = last
                    while k < i and s[k].isspace():
                        k += 1
                    words = head.split('(')[0].split()
                    infunc = (s.count('\n', 0, k) + 1, depth, words[-1] if words else '?')
                else:
                    last = i + 1
            depth += 1
        elif c == '}':
            depth -= 1
            if infunc is not None and depth == infunc[1]:
                end = s.count('\n', 0, i) + 1
                yield end - infunc[0] + 1, infunc[0], end, infunc[2]
                infunc = None
            if infunc is None:
                last = i + 1


def main(argv):
    fail = '--fail' in argv
    limit = 100
    roots = []
    args = iter(argv)
    for a in args:
        if a == '--limit':
            limit = int(next(args))
        elif not a.startswith('--'):
            roots.append(a)
    over = 0
    paths = []
    for root in roots or SOURCE_ROOTS:
        if os.path.isfile(root):
            paths.append(root)
            continue
        for dirpath, _, names in sorted(os.walk(root)):
            paths += [os.path.join(dirpath, n) for n in sorted(names) if n.endswith(('.cc', '.h'))]
    for path in paths:
        for lines, first, last, func in functions(path):
            if lines > limit:
                over += 1
                print(f'{lines:4d}  {path}:{first}-{last}  {func}')
    print(f'{over} functions over {limit} lines', file=sys.stderr)
    return 1 if over and fail else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
