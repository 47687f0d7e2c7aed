#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Write a bash completion for a CLI11 tool from its own --help.

    scripts/gen-bash-completion.py TOOL > completion

Subcommands and options come from `TOOL --help` and each subcommand's
--help, so the completion always matches the binary it was made from.
Words that are not options complete as file names (modules, keys, kits).
"""
import os
import re
import subprocess
import sys


def help_text(argv):
    return subprocess.run(argv + ["--help"], capture_output=True, text=True, check=True).stdout


def section(text, title):
    m = re.search(rf"^{title}:\n((?:  .*\n?)+)", text, re.M)
    return m.group(1) if m else ""


def walk(argv, path, table):
    text = help_text(argv)
    opts = sorted({n for line in section(text, "Options").splitlines()
                   for n in re.findall(r"(?:^|[ ,])(--?[A-Za-z][\w-]*)", line.strip().split("  ")[0])})
    subs = [line.split()[0] for line in section(text, "Subcommands").splitlines()]
    table[path] = (subs, opts)
    for s in subs:
        walk(argv + [s], f"{path} {s}".strip(), table)


def main():
    tool = sys.argv[1]
    name = os.path.basename(tool)
    fn = "_" + re.sub(r"\W", "_", name)
    table = {}
    walk([tool], "", table)
    out = [f"# bash completion for {name}, generated from its --help by scripts/gen-bash-completion.py",
           f"{fn}()", "{",
           "\tlocal cur path w i",
           "\tcur=${COMP_WORDS[COMP_CWORD]}",
           "\tpath=",
           "\tfor ((i = 1; i < COMP_CWORD; i++)); do",
           "\t\tw=${COMP_WORDS[i]}",
           "\t\tcase \"$path $w\" in"]
    for p, (subs, _) in sorted(table.items()):
        for s in subs:
            out.append(f"\t\t\"{p} {s}\") path=\"{(p + ' ' + s).strip()}\" ;;")
    out += ["\t\tesac", "\tdone", "\tcase $path in"]
    for p, (subs, opts) in sorted(table.items()):
        words = " ".join(subs + opts)
        out.append(f"\t\"{p}\") COMPREPLY=($(compgen -W \"{words}\" -- \"$cur\")) ;;")
    out += ["\tesac",
            "\tif [[ $cur != -* ]] && [ -z \"$(compgen -W \"${COMPREPLY[*]}\" -- \"$cur\")\" ] || "
            "[ ${#COMPREPLY[@]} -eq 0 ]; then",
            "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))",
            "\tfi",
            "}",
            f"complete -o filenames -F {fn} {name}", ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
