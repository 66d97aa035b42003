"""The shell blocks of a guide, read as a user reads them, and turned into one script that runs them.

A guide's ```sh blocks run in order in one bash (`set -euo pipefail`), so a variable set or a folder
entered in one block holds in the next. Lines of the form `# → TEXT` show what the command above them
prints: each must appear in the block's output, in order, with `…` standing for any text on the line.
An HTML comment just above a block changes how it runs:

- `<!-- doc-test: background, ready at URL -->`: the block keeps running (a server); the next block runs
  once URL answers, and its `# →` lines are checked against what it printed by the guide's end;
- `<!-- doc-test: skip: REASON -->`: the block is not run (it needs what no test machine has, such as
  systemd or a Docker engine); the reason is reported.

A guide declares the services it needs once, anywhere: `<!-- doc-test guide: postgresql redis -->`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*(.*?)\s*-->")
_GUIDE = re.compile(r"<!--\s*doc-test guide:\s*(.*?)\s*-->")
_READY = re.compile(r"background,\s*ready at\s+(\S+)")
_EXPECTED = re.compile(r"^\s*# → (.*)$")
MARKER = "@@doc-block"


@dataclass(frozen=True, slots=True)
class Block:
    index: int
    line: int  # where the block starts in the guide (1-based, the fence's line)
    text: str
    expected: tuple[str, ...]
    background_ready_at: str | None = None
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Guide:
    path: Path
    blocks: tuple[Block, ...]
    needs: frozenset[str] = field(default_factory=frozenset)

    @property
    def run_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.skip_reason is None]


def read_guide(path: Path) -> Guide:
    lines = path.read_text().splitlines()
    needs: set[str] = set()
    for line in lines:
        found = _GUIDE.search(line)
        if found:
            needs.update(found[1].split())
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        start = i
        directive = _directive_above(lines, start)
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        i += 1
        expected = tuple(m[1] for m in (_EXPECTED.match(line) for line in body) if m)
        ready = _READY.fullmatch(directive) if directive else None
        skip = directive[len("skip:") :].strip() if directive and directive.startswith("skip:") else None
        if directive and not ready and skip is None:
            raise ValueError(f"{path}:{start + 1}: unknown doc-test directive {directive!r}")
        blocks.append(
            Block(len(blocks), start + 1, "\n".join(body), expected, ready[1] if ready else None, skip)
        )
    return Guide(path, tuple(blocks), frozenset(needs))


def _directive_above(lines: list[str], fence: int) -> str | None:
    j = fence - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0:
        return None
    found = _DIRECTIVE.fullmatch(lines[j].strip())
    return found[1] if found else None


def pattern_of(expected: str) -> re.Pattern[str]:
    """`…` stands for any text on the line; everything else is literal."""
    return re.compile(".*?".join(re.escape(part) for part in expected.split("…")))


def unmatched(expected: tuple[str, ...], output: str) -> str | None:
    """The first expected line not found in `output` after the ones before it, or None."""
    at = 0
    for line in expected:
        found = pattern_of(line).search(output, at)
        if found is None:
            return line
        at = found.end()
    return None


def script_of(guide: Guide, *, ready_timeout: float) -> str:
    """One bash script running the guide's blocks in order; background blocks log to `.doc-bg-N.log`
    and their process group ids go to `.doc-bg-pids`, so whoever runs the script can stop them."""
    parts = [
        "set -euo pipefail",
        "set -m",  # each background block in a process group of its own
        "__bg=()",
        '__dir="$PWD"',  # where the logs go, whichever folder a block enters
        '__stop() { for p in "${__bg[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done; wait || true; }',
        "trap __stop EXIT",
        "__ready() {",
        f"  local deadline=$((SECONDS + {int(ready_timeout)}))",
        '  until curl -s -o /dev/null "$1"; do',
        '    if ! kill -0 "$2" 2>/dev/null; then echo "background block stopped:"; cat "$3"; exit 1; fi',
        '    if [ "$SECONDS" -ge "$deadline" ]; then echo "$1 did not answer"; cat "$3"; exit 1; fi',
        "    sleep 0.2",
        "  done",
        "}",
    ]
    for block in guide.run_blocks:
        parts.append(f"printf '\\n{MARKER} %d\\n' {block.index}")
        if block.background_ready_at is None:
            parts.append(block.text)
            continue
        log = f'"$__dir/.doc-bg-{block.index}.log"'
        parts.append(f"( {block.text}\n) > {log} 2>&1 &")
        parts.append('__bg+=($!); echo $! >> "$__dir/.doc-bg-pids"')
        parts.append(f"__ready {shlex.quote(block.background_ready_at)} $! {log}")
    parts.append(f"printf '\\n{MARKER} end\\n'")
    return "\n".join(parts) + "\n"


def outputs_by_block(output: str) -> dict[str, str]:
    """What each block printed, by its index (and "end" once every block ran)."""
    found: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith(MARKER + " "):
            if current is not None:
                found[current] = "\n".join(lines)
            current, lines = line[len(MARKER) + 1 :], []
        else:
            lines.append(line)
    if current is not None:
        found[current] = "\n".join(lines)
    return found
