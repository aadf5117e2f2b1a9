#!/usr/bin/env python3
"""Function length check (issue 13 item 5): no function in engine/, cl/, cli/ or bench/ longer
than a limit (120 lines), counted from the line that names the function to its closing brace.

usage: funclen.py [--max N] [--allow FILE] [--root DIR] [--list] [PATH...]
  PATH      files or folders (default: engine cl cli bench under --root); .c .h .cl files
  --allow   known offenders, one "path function" per line ('#' comments); they are reported but
            do not fail the check. An entry whose function is no longer too long (or gone) is
            reported as stale and fails, so the list can only shrink.
  --list    print every function over the limit, longest first, and exit 0

The scanner is a small tokenizer, not a C parser: comments, string and character literals and
preprocessor lines (with their continuations) are skipped; a function is a '{' at brace depth 0
whose previous token is ')' (a parameter list), named by the token before the matching '(' (a
macro-made name such as LNAME(f) is kept whole). Initialisers ('= {'), struct, union and enum
bodies are not functions. Exit: 0 ok, 1 a function over the limit not in the allowlist, 2 usage.
"""
import argparse
import os
import sys

EXTS = (".c", ".h", ".cl")
DEFAULT_DIRS = ("engine", "cl", "cli", "bench")


def past_comment(text, i, line):
    """The index just past the /* comment that starts at i (the end of text if it never ends),
    and the line number there."""
    end = text.find("*/", i + 2)
    end = len(text) if end < 0 else end + 2
    return end, line + text.count("\n", i, end)


def tokens(text):
    """(kind, value, line) for the tokens that matter: identifiers, '(', ')', '{', '}', and
    every other punctuation character as itself."""
    i, n, line = 0, len(text), 1
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "#" and at_line_start:  # preprocessor line, continuations included
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    line += 1
                    i += 2
                    continue
                if text.startswith("/*", i):
                    i, line = past_comment(text, i, line)
                    continue
                i += 1
            continue
        at_line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            i, line = past_comment(text, i, line)
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            yield ("lit", "", line)
            continue
        if c.isalnum() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            yield ("id", text[i:j], line)
            i = j
            continue
        yield ("p", c, line)
        i += 1


def functions(text):
    """(name, first_line, last_line) of every function definition in text."""
    toks = list(tokens(text))
    out = []
    depth = 0
    i = 0
    while i < len(toks):
        kind, val, line = toks[i]
        if val == "{" and kind == "p":
            if depth == 0 and i > 0 and toks[i - 1][1] == ")":
                name, first = name_before(toks, i - 1)
                # find the matching closing brace
                d, j = 0, i
                while j < len(toks):
                    if toks[j][0] == "p" and toks[j][1] == "{":
                        d += 1
                    elif toks[j][0] == "p" and toks[j][1] == "}":
                        d -= 1
                        if d == 0:
                            break
                    j += 1
                last = toks[j][2] if j < len(toks) else toks[-1][2]
                if name:
                    out.append((name, first, last))
                i = j + 1
                continue
            depth += 1
        elif val == "}" and kind == "p":
            depth = max(0, depth - 1)
        i += 1
    return out


def matching_open(toks, close):
    d = 0
    for k in range(close, -1, -1):
        if toks[k][0] == "p" and toks[k][1] == ")":
            d += 1
        elif toks[k][0] == "p" and toks[k][1] == "(":
            d -= 1
            if d == 0:
                return k
    return -1


def name_before(toks, close):
    """The function name for the parameter list ending at toks[close] == ')'."""
    op = matching_open(toks, close)
    if op <= 0:
        return None, None
    prev = toks[op - 1]
    if prev[0] == "id":
        if prev[1] in ("if", "for", "while", "switch", "return", "sizeof"):
            return None, None
        return prev[1], prev[2]
    if prev[1] == ")":  # a macro-made name: LNAME(f)(...)
        op2 = matching_open(toks, op - 1)
        if op2 > 0 and toks[op2 - 1][0] == "id":
            inner = "".join(t[1] for t in toks[op2 - 1:op])
            return inner, toks[op2 - 1][2]
    return None, None


def scan(paths, root):
    files = []
    for p in paths:
        full = p if os.path.isabs(p) else os.path.join(root, p)
        if os.path.isdir(full):
            for d, dirs, names in os.walk(full):
                dirs.sort()
                for nm in sorted(names):
                    if nm.endswith(EXTS):
                        files.append(os.path.join(d, nm))
        elif os.path.isfile(full):
            files.append(full)
        else:
            print("funclen: %s: no such file or folder" % p, file=sys.stderr)
            sys.exit(2)
    result = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        rel = os.path.relpath(f, root)
        for name, first, last in functions(text):
            result.append((rel, name, first, last - first + 1))
    return result


def read_allow(path):
    allow = {}
    with open(path, encoding="utf-8") as fh:
        for k, raw in enumerate(fh, 1):
            s = raw.split("#", 1)[0].strip()
            if not s:
                continue
            parts = s.split()
            if len(parts) != 2:
                print("funclen: %s:%d: expected 'path function'" % (path, k), file=sys.stderr)
                sys.exit(2)
            allow[(parts[0], parts[1])] = k
    return allow


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max", type=int, default=120)
    ap.add_argument("--allow")
    ap.add_argument("--root", default=os.getcwd())
    ap.add_argument("--list", action="store_true")
    ap.add_argument("paths", nargs="*")
    a = ap.parse_args()
    if a.max < 1:
        ap.error("--max must be positive")
    funcs = scan(a.paths or list(DEFAULT_DIRS), a.root)
    long_ = sorted((f for f in funcs if f[3] > a.max), key=lambda f: (-f[3], f[0], f[2]))
    if a.list:
        for rel, name, first, n in long_:
            print("%5d  %s:%d  %s" % (n, rel, first, name))
        return 0
    allow = read_allow(a.allow) if a.allow else {}
    bad, known = [], []
    for f in long_:
        (known if (f[0], f[1]) in allow else bad).append(f)
    present = {(f[0], f[1]) for f in long_}
    stale = sorted(k for k in allow if k not in present)
    for rel, name, first, n in known:
        print("funclen: allowed for now: %s:%d: %s is %d lines (limit %d)" %
              (rel, first, name, n, a.max))
    for rel, name in stale:
        print("funclen: stale allowlist entry (now within %d lines or gone): %s %s -- remove it "
              "from %s" % (a.max, rel, name, a.allow))
    for rel, name, first, n in bad:
        print("%s:%d: error: function %s is %d lines, over the limit of %d" %
              (rel, first, name, n, a.max), file=sys.stderr)
    print("funclen: %d functions in %d files; %d over %d lines (%d allowed, %d not)" %
          (len(funcs), len({f[0] for f in funcs}), len(long_), a.max, len(known), len(bad)))
    return 1 if bad or stale else 0  # a stale entry fails too: the list only shrinks


if __name__ == "__main__":
    sys.exit(main())
