#!/usr/bin/env python3
"""tools/funclen.py on made-up sources: the limit is exact, comments, literals, preprocessor
lines and initialisers do not fool it, the allowlist excuses only what it names and reports
stale entries, and the exit status says so."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "tools", "funclen.py")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def func(name, lines, body_extra=""):
    """A function of exactly `lines` lines (signature to closing brace)."""
    extra = body_extra.count("\n")
    body = ["    x += %d; /* { */" % i for i in range(lines - 3 - extra)]
    return "static int %s(int x)\n{\n%s%s\n}\n" % (name, body_extra, "\n".join(body))


def run(root, *args):
    p = subprocess.run([sys.executable, TOOL, "--root", root] + list(args), capture_output=True,
                       text=True)
    return p.returncode, p.stdout + p.stderr


with tempfile.TemporaryDirectory() as root:
    os.makedirs(os.path.join(root, "src"))
    src = os.path.join(root, "src", "a.c")
    with open(src, "w") as f:
        f.write("#define BRACE {\n#define LONG_MACRO(x) \\\n    { x; \\\n    }\n")
        f.write("static const int table[] = {\n" + "1,\n" * 200 + "};\n")
        f.write("struct s {\n" + "    int a;\n" * 150 + "};\n")
        f.write('static const char *str = "} {";\n')
        f.write(func("ok_fn", 120))
        f.write(func("long_fn", 121, '    const char *s = "}}}";\n    char c = \'}\';\n'))
        f.write("/* a comment with a fake function(void) { */\n")
        f.write("#define LNAME(f) f##_v\nvoid LNAME(lane_fn)(int y)\n{\n" + "    y++;\n" * 130 + "}\n")
    rc, out = run(root, "src")
    check(rc == 1, "one long function: exit %d\n%s" % (rc, out))
    check("src/a.c" in out and "long_fn is 121 lines" in out, "long_fn reported: %s" % out)
    check("ok_fn" not in out, "a 120-line function is within the limit: %s" % out)
    check("LNAME(lane_fn) is 133 lines" in out, "macro-made name reported: %s" % out)
    check("table" not in out and "struct" not in out, "initialisers/structs are no functions")
    check("2 over 120 lines" in out, "count of long functions: %s" % out)

    allow = os.path.join(root, "allow.txt")
    with open(allow, "w") as f:
        f.write("# known\nsrc/a.c long_fn\nsrc/a.c LNAME(lane_fn)\nsrc/a.c gone_fn\n")
    rc, out = run(root, "--allow", allow, "src")
    check(rc == 1, "a stale entry fails: exit %d\n%s" % (rc, out))
    check("stale allowlist entry" in out and "gone_fn" in out, "stale entry reported: %s" % out)
    with open(allow, "w") as f:
        f.write("# known\nsrc/a.c long_fn\nsrc/a.c LNAME(lane_fn)\n")
    rc, out = run(root, "--allow", allow, "src")
    check(rc == 0, "everything allowed: exit %d\n%s" % (rc, out))
    with open(allow, "w") as f:
        f.write("src/a.c long_fn\n")
    rc, out = run(root, "--allow", allow, "src")
    check(rc == 1 and "lane_fn" in out, "only the named function is excused: %d %s" % (rc, out))
    rc, out = run(root, "--max", "200", "src")
    check(rc == 0, "--max 200: exit %d" % rc)
    rc, out = run(root, "nowhere")
    check(rc == 2, "a missing path is a usage error: exit %d" % rc)

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("funclen: all checks passed")
