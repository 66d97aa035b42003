"""How a guide's shell blocks are read: directives, expected output, and the script they make."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.docs.guides import outputs_by_block, read_guide, script_of, unmatched

GUIDE = """# A guide
<!-- doc-test guide: postgresql -->

<!-- doc-test: skip: needs systemd -->
```sh
systemctl start wagate
```

```sh
X=41
echo "x is $((X + 1))"
# → x is 42
```

<!-- doc-test: background, ready at http://127.0.0.1:1/ -->
```sh
serve forever
```
"""


def test_blocks_their_directives_and_expected_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(GUIDE)
    guide = read_guide(path)
    assert guide.needs == {"postgresql"}
    skipped, plain, background = guide.blocks
    assert skipped.skip_reason == "needs systemd" and skipped.line == 5
    assert plain.expected == ("x is 42",) and plain.background_ready_at is None
    assert background.background_ready_at == "http://127.0.0.1:1/"
    assert [b.index for b in guide.run_blocks] == [1, 2]


def test_an_unknown_directive_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("<!-- doc-test: sometimes -->\n```sh\ntrue\n```\n")
    with pytest.raises(ValueError, match="unknown doc-test directive"):
        read_guide(path)


def test_expected_lines_match_in_order_with_ellipses_as_any_text() -> None:
    output = 'first {"id": "wamid.ABC", "status": "read"}\nthen done'
    assert unmatched(('{"id": "wamid.…", "status": "read"}', "done"), output) is None
    assert unmatched(("done", "first"), output) == "first"
    assert unmatched(('"status": "sent"',), output) == '"status": "sent"'


def test_the_script_runs_the_blocks_in_one_shell_and_stops_at_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("```sh\nX=1\n```\n\n```sh\necho X=$X\nfalse\necho never\n```\n")
    script = tmp_path / "run.sh"
    script.write_text(script_of(read_guide(path), ready_timeout=5))
    done = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, check=False)
    printed = outputs_by_block(done.stdout)
    assert done.returncode == 1
    assert printed["1"].strip() == "X=1" and "end" not in printed
