#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen-man.py - one man page per exported symbol of include/evmap.h.

The header is the one source: each page is made from the symbol's own
comment in the header (its summary line, arguments, context, return and
errors), the rules its group of functions shares (the plain comment block
that precedes the group in the header), and its declaration. The pages
live in doc/man3/ and are committed, so that building the library needs
no Python; doc/man3/meson.build, also written here, installs them.

Usage: doc/gen-man.py [--check] [SRCDIR]
  (no option)  write doc/man3/*.3 and doc/man3/meson.build
  --check      exit 1 if the committed files differ from what the header
               gives now (the test suite runs this: tests/meson.build)
Both also fail when the header's bad-input table lacks a row for an
exported function.
"""
import os
import re
import sys


def version_and_date(srcdir):
    """The project version and the date of its debian/changelog entry."""
    with open(os.path.join(srcdir, "meson.build"), encoding="utf-8") as f:
        version = re.search(r"version\s*:\s*'([0-9.]+)'", f.read()).group(1)
    months = {m: i + 1 for i, m in enumerate(
        "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
    with open(os.path.join(srcdir, "debian", "changelog"),
              encoding="utf-8") as f:
        for line in f:
            m = re.match(r" -- .*>  \w+, (\d+) (\w+) (\d+) ", line)
            if m:
                day, month, year = m.groups()
                return version, "%s-%02d-%02d" % (year, months[month],
                                                   int(day))
    raise SystemExit("gen-man.py: no date in debian/changelog")


def comment_lines(block):
    """The text lines of a /* */ or /** */ comment, ' * ' removed."""
    body = re.sub(r"^/\*\*?", "", block.strip())
    body = re.sub(r"\*/$", "", body)
    out = []
    for line in body.split("\n"):
        line = re.sub(r"^\s*\* ?", "", line.rstrip())
        out.append(line)
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def parse(header):
    """[(name, summary, body lines, group rule lines, declaration)]."""
    token = re.compile(r"/\*.*?\*/|[^/]+|/", re.S)
    pages = []
    group = []
    pending_doc = None
    pos = 0
    text = header
    while pos < len(text):
        m = token.match(text, pos)
        chunk = m.group(0)
        pos = m.end()
        if chunk.startswith("/**"):
            pending_doc = comment_lines(chunk)
            continue
        if chunk.startswith("/*"):
            lines = comment_lines(chunk)
            if lines and set(lines[0]) <= set("- "):
                group = []          # a section banner: a new group
            elif len(lines) > 2:
                group = lines       # the rules of the functions below
            continue
        if pending_doc is None:
            continue
        decl = chunk.split(";")[0]
        doc, pending_doc = pending_doc, None
        if "EVMAP_EXPORT" not in decl:
            continue
        decl = " ".join(decl.replace("EVMAP_EXPORT", "").split())
        m = re.match(r"\s*(\w+) - (.*)", doc[0])
        if not m:
            raise SystemExit("gen-man.py: no 'name - summary' line: %r"
                             % doc[0])
        name, summary = m.groups()
        body = doc[1:]
        # a summary continued on the next lines, up to a blank line
        while body and body[0].strip() and not body[0].startswith("@"):
            summary += " " + body.pop(0).strip()
        if name not in decl:
            raise SystemExit("gen-man.py: comment of %s precedes %r"
                             % (name, decl))
        pages.append((name, summary.rstrip("."), body, group, decl))
    return pages


def bad_input_table_names(header, exported):
    """The exported names the header's bad-input table has a row for."""
    start = header.index(" *   function                NULL handle")
    end = header.index(" * Misuse nothing detects")
    found = set()
    base = None
    for line in header[start:end].split("\n")[1:]:
        # the first column: from column 5 up to a run of two spaces
        first_column = ""
        if line.startswith(" *   ") and line[5:6] not in ("", " "):
            first_column = re.split(r"\s{2,}", line[5:])[0]
        words = re.findall(r"[a-z_][a-z0-9_]*", first_column)
        for w in words:
            if w.startswith("evmap_"):
                base = w
                found.add(w)
            elif w.startswith("_") and base:
                # "evmap_view_len, _meta": a suffix of the row's last name
                parts = base.split("_")
                for n in range(len(parts), 0, -1):
                    cand = "_".join(parts[:n]) + w
                    if cand in exported:
                        found.add(cand)
                        break
    return found


def roff(text):
    """Escape one line of text for troff."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def no_fill(lines):
    out = [".nf"]
    for line in lines:
        out.append(roff(line) if line.strip() else "")
    out.append(".fi")
    return out


def page(name, summary, body, group, decl, version, date):
    out = [
        '.\\" SPDX-License-Identifier: MIT',
        '.\\" Generated by doc/gen-man.py from include/evmap.h: do not edit.',
        '.TH %s 3 %s "libevmap %s" "libevmap Manual"'
        % (name.upper(), date, version),
        ".nh",
        ".ad l",
        ".SH NAME",
        "%s \\- %s" % (name, roff(summary)),
        ".SH SYNOPSIS",
        ".nf",
        ".B #include <evmap.h>",
        ".PP",
        roff(decl + ";"),
        ".fi",
        ".PP",
        "Link with",
        ".BR \"pkg\\-config \\-\\-cflags \\-\\-libs evmap\" .",
    ]
    args = [l for l in body if re.match(r"@\w+:", l) or
            (l.startswith(" ") and l.strip())]
    rest = body
    if body and re.match(r"@\w+:", body[0]):
        # the argument list: @name: text, continued by indented lines
        n = 0
        while n < len(body) and (re.match(r"@\w+:", body[n]) or
                                 body[n].startswith(" ")):
            n += 1
        args, rest = body[:n], body[n:]
        out.append(".SH ARGUMENTS")
        out += no_fill(args)
    while rest and not rest[0].strip():
        rest = rest[1:]
    out.append(".SH DESCRIPTION")
    if rest:
        out += no_fill(rest)
    else:
        out.append(roff(summary[:1].upper() + summary[1:] + "."))
    if group:
        out.append(".SH RULES OF ITS GROUP")
        out.append("What the header says for this function and the ones "
                   "declared beside it:")
        out += no_fill(group)
    out += [
        ".SH SEE ALSO",
        ".BR evmap (3)",
        "for the conventions, the bad\\-input table and the thread rules.",
        "",
    ]
    return "\n".join(out)


def meson_build(names):
    lines = ["# SPDX-License-Identifier: MIT",
             "# Generated by doc/gen-man.py: one man page per exported "
             "symbol.",
             "install_man("]
    lines += ["  '%s.3'," % n for n in names]
    lines += [")", ""]
    return "\n".join(lines)


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    srcdir = args[0] if args else os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..")
    with open(os.path.join(srcdir, "include", "evmap.h"),
              encoding="utf-8") as f:
        pages = parse(f.read())
    version, date = version_and_date(srcdir)
    outdir = os.path.join(srcdir, "doc", "man3")
    files = {n + ".3": page(n, s, b, g, d, version, date)
             for n, s, b, g, d in pages}
    files["meson.build"] = meson_build(sorted(n for n, *_ in pages))
    stale = []
    for fname, text in sorted(files.items()):
        path = os.path.join(outdir, fname)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:
            stale.append(fname)
            if not check:
                os.makedirs(outdir, exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    extra = sorted(set(os.listdir(outdir)) - set(files)) \
        if os.path.isdir(outdir) else []
    with open(os.path.join(srcdir, "include", "evmap.h"),
              encoding="utf-8") as f:
        header = f.read()
    functions = {n for n, *rest in pages if "(" in rest[-1]}
    missing = sorted(functions - bad_input_table_names(header, functions))
    if missing:
        print("the bad-input table of include/evmap.h has no row for: %s"
              % ", ".join(missing))
        return 1
    if check:
        if stale or extra:
            print("doc/man3 is out of date with include/evmap.h: %s; run "
                  "doc/gen-man.py" % ", ".join(stale + extra))
            return 1
        print("ok: %d man pages match include/evmap.h; the bad-input "
              "table has a row for each of its %d functions"
              % (len(pages), len(functions)))
        return 0
    for fname in extra:
        os.remove(os.path.join(outdir, fname))
    print("wrote %d pages into doc/man3 (%d changed)" % (len(pages),
                                                         len(stale)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
