#!/usr/bin/env python3
"""Set one "section.key" scalar in a block-style YAML file, keeping comments.

    yaml_set.py devicegate.yaml server.workers 4

Only handles what the scripts need: a top-level mapping key ("server:") whose
block holds "key: value" lines. The key is replaced in place, or inserted as
the first line of the block (with the block's indentation) if it is missing.
No YAML library is needed, and the file's comments and order survive.
"""

import re
import sys


def set_key(lines, section, key, value):
    start = next((i for i, line in enumerate(lines)
                  if re.match(rf"{re.escape(section)}:\s*(#.*)?$", line)), None)
    if start is None:
        raise SystemExit(f"yaml_set: no top-level '{section}:' block")
    indent = None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():  # next top-level key: end of the block
            break
        this_indent = len(line) - len(line.lstrip())
        if indent is None:
            indent = this_indent
        match = re.match(rf"(\s*){re.escape(key)}:(\s*)([^#\n]*?)(\s*#.*)?$", line)
        if match and this_indent == indent:
            lines[i] = (f"{match.group(1)}{key}: {value}"
                        f"{match.group(4) or ''}\n")
            return
    lines.insert(start + 1, f"{' ' * (indent or 2)}{key}: {value}\n")


def main():
    if len(sys.argv) != 4 or sys.argv[2].count(".") != 1:
        raise SystemExit("usage: yaml_set.py FILE SECTION.KEY VALUE")
    path, dotted, value = sys.argv[1:]
    section, key = dotted.split(".")
    with open(path) as f:
        lines = f.readlines()
    set_key(lines, section, key, value)
    with open(path, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
