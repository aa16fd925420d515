#!/usr/bin/env python3
"""Every public function that returns an object says whether the reference
is new or borrowed, in its own comment: the comment block right above the
declaration (up to the previous declaration) or a comment on its own lines.

    python3 tests/header_check.py [include-dir]

Ends with "header: N passed, N failed".
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORDS = re.compile(r"new ref|borrowed|new reference|steals", re.I)


def declarations(text):
    """(name, the text that documents it) for each OURO_API function
    returning ouro_object *."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"\s*OURO_API\s+ouro_object\s*\*\s*(\w+)\s*\(", lines[i])
        if not m:
            i += 1
            continue
        # The declaration may run over several lines, with a trailing comment.
        j = i
        while ";" not in lines[j]:
            j += 1
        decl = "\n".join(lines[i:j + 1])
        # The comment above: back over comment lines (and other declarations
        # of the same group, which share one comment) to a blank line.
        k = i - 1
        doc = []
        while k >= 0 and lines[k].strip() and not lines[k].startswith("#"):
            doc.insert(0, lines[k])
            k -= 1
        out.append((m.group(1), "\n".join(doc) + "\n" + decl))
        i = j + 1
    return out


def main():
    inc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "include")
    passed = failed = 0
    for name in ("ouro.h", "ouro_types.h", "ouro_inspect.h"):
        with open(os.path.join(inc, name)) as f:
            for fn, doc in declarations(f.read()):
                if WORDS.search(doc):
                    passed += 1
                else:
                    failed += 1
                    print("FAIL %s: %s does not say whether its result is a new or a "
                          "borrowed reference" % (name, fn))
    print("header: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
