#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Every subcommand and option a tool's --help shows appears in its man page.

    tests/man/check-man.py BINDIR MANDIR

Also every exit code of the tool's "Exit codes:" list is under EXIT STATUS.
Walks `<tool> --help` and every subcommand's --help (CLI11's "Subcommands:"
section, recursively), collects the option names (-x, --long) and the
subcommand names, and checks that each appears in MANDIR/<tool>.<section>.md
(the pandoc source of the man page). Prints one line per missing name.
"""
import os
import re
import subprocess
import sys

TOOLS = {"cvm-cli": "cvm-cli.1.md", "lp-load": "lp-load.8.md"}


def help_text(argv):
    p = subprocess.run(argv + ["--help"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"check-man: {' '.join(argv)} --help exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def section(text, title):
    """The indented lines under `title:` up to the next blank line."""
    m = re.search(rf"^{title}:\n((?:  .*\n?)+)", text, re.M)
    return m.group(1) if m else ""


def walk(argv, found):
    text = help_text(argv)
    for line in section(text, "Options").splitlines():
        for name in re.findall(r"(?:^|[ ,])(--?[A-Za-z][\w-]*)", line.split("  ")[1] if line.startswith("  ") else line):
            found.add((" ".join(argv[1:]), name))
    for line in section(text, "Subcommands").splitlines():
        sub = line.split()[0]
        found.add((" ".join(argv[1:]), sub))
        walk(argv + [sub], found)


def main():
    bindir, mandir = sys.argv[1], sys.argv[2]
    missing = 0
    for tool, page in TOOLS.items():
        src = open(os.path.join(mandir, page)).read()
        # Man sources escape leading dashes for pandoc (\--); compare without.
        plain = src.replace("\\-", "-")
        found = set()
        walk([os.path.join(bindir, tool)], found)
        for where, name in sorted(found):
            if name in ("-h", "--help") and "**-h**, **\\--help**" in src:
                continue
            if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", plain):
                print(f"check-man: {tool} {where}: {name} is in --help but not in docs/man/{page}")
                missing += 1
        codes = re.findall(r"^  (\d+)  ", section(help_text([os.path.join(bindir, tool)]), "Exit codes"), re.M)
        exit_status = src.split("# EXIT STATUS", 1)[-1].split("\n# ", 1)[0]
        for c in codes:
            if not re.search(rf"^{c}$", exit_status, re.M):
                print(f"check-man: {tool}: exit code {c} is in --help but not under EXIT STATUS in docs/man/{page}")
                missing += 1
        print(f"check-man: {tool}: {len(found)} subcommands and options, {len(codes)} exit codes, "
              f"{missing} missing so far")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
