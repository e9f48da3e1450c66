"""issue 13: A. `pageflows check` imports what checking needs, not the server stack.

Flask, SQLAlchemy, werkzeug and requests took 2.4 s to import before `check`
did any work. Each command now imports its own module when it runs; this runs
the command in a fresh interpreter (as a user does) and looks at what it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# And the engine's send-time decisions: `check` reads only their table (policy_table.py).
HEAVY = ("flask", "sqlalchemy", "werkzeug", "requests", "pageflows.engine.policy")

PROBE = """
import json, sys
from pageflows.cli import main
try:
    main(sys.argv[1:])
except SystemExit as end:
    code = end.code
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
# A validator built looks for pydantic plugins among the installed packages (issue 13: A).
plugins = "pydantic.plugin._loader" in sys.modules
print(json.dumps({{"exit": code, "heavy": heavy, "plugins": plugins}}), file=sys.stderr)
"""


def loaded_by(args: list[str], cwd: Path) -> tuple[int, list[str], str]:
    """Run `pageflows ARGS` in a new interpreter: its exit code, the heavy modules it loaded."""
    code, heavy, _, out = probed(args, cwd)
    return code, heavy, out


def probed(
    args: list[str], cwd: Path, heavy: tuple[str, ...] = HEAVY
) -> tuple[int, list[str], bool, str]:
    """`loaded_by` (of the modules `heavy`), and whether any pydantic validator was built
    (plugins looked for)."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=heavy), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    report = json.loads(run.stderr.strip().splitlines()[-1])
    return report["exit"], report["heavy"], report["plugins"], run.stdout


def test_check_loads_no_server_modules(tmp_path: Path) -> None:
    # In an empty folder: no pageflows.db here, so no database to read templates from.
    code, heavy, out = loaded_by(
        ["check", "--as-of", "2026-11-28", str(ROOT / "examples" / "flows")], tmp_path
    )
    assert code == 0, out
    assert "files checked: no problems" in out
    assert heavy == []


def test_check_with_findings_loads_no_server_modules(tmp_path: Path) -> None:
    flow = tmp_path / "shop.flow"
    flow.write_text('on keyword "hi":\n    sned "Hello"\n', encoding="utf-8")
    code, heavy, out = loaded_by(["check", str(flow)], tmp_path)
    assert code == 1
    assert "PF010" in out
    assert heavy == []


def test_the_probe_sees_a_command_that_needs_the_server(tmp_path: Path) -> None:
    """The same probe on `serve --help`: it does load them (the probe can fail)."""
    code, heavy, _ = loaded_by(["serve", "--help"], tmp_path)
    assert code == 0
    assert {"flask", "sqlalchemy", "pageflows.engine.policy"} <= set(heavy)


def test_a_command_finds_the_collector_as_it_was_before_its_module_was_imported() -> None:
    """The collector is paused while a command's module is imported, then restored."""
    probe = (
        "import gc, click\n"
        "from pageflows.cli import main\n"
        "for name, on in (('check', True), ('policy', False)):\n"
        "    gc.enable() if on else gc.disable()\n"
        "    assert main.get_command(click.Context(main), name) is not None\n"
        "    print(name, gc.isenabled())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.split("\n")[:2] == ["check True", "policy False"]


def test_check_of_clean_flows_builds_no_validator(tmp_path: Path) -> None:
    """issue 13: A: the nodes, files and triggers of clean flows are made as validation
    makes them (rules/trusted.py), so pydantic never scans the installed packages'
    entry points for plugins (~40 ms of the command), nor does a finding."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "shop.flow").write_text(
        'on keyword "hi":\n    send "Hello"\n\non ref "x" from ads:\n    goto s\n\n'
        "on ref missing:\n    goto s\n\non message:\n    goto s\n\n"
        'step s:\n    send "Hi"\n',
        encoding="utf-8",
    )
    code, _, plugins, out = probed(["check", "--as-of", "2026-11-28", str(flows)], tmp_path)
    assert code == 0 and "no problems" in out, out
    assert plugins is False
    # A finding is made as validation makes it too (diagnostics.py)...
    (flows / "shop.flow").write_text('on keyword "hi":\n    sned "Hello"\n', encoding="utf-8")
    code, _, plugins, out = probed(["check", str(flows)], tmp_path)
    assert code == 1 and "PF010" in out
    assert plugins is False
    # ...while a node build.py validates builds its validator (the probe sees it).
    (flows / "shop.flow").write_text(
        'on keyword "hi":\n    ask "Your email?" into email\n    send "Thanks"\n',
        encoding="utf-8",
    )
    code, _, plugins, out = probed(["check", str(flows)], tmp_path)
    assert plugins is True, out


def test_check_reads_the_promotional_words_only_for_tagged_messages(tmp_path: Path) -> None:
    """issue 13: A: the words of promotions (rules/promotional.py) are loaded when a flow
    sends a message with a tag or a template, the only messages read for them."""
    module = "pageflows.rules.promotional"
    flows = tmp_path / "flows"
    flows.mkdir()
    shop = flows / "shop.flow"
    shop.write_text('on keyword "hi":\n    send "20% off!"\n', "utf-8")
    tagged = ROOT / "tests/golden/cases/promotional_tag.flow"
    for loaded in ([], [module]):
        if loaded:  # messages sent with a tag, some of them promotions
            shop.write_bytes(tagged.read_bytes())
        _, heavy, _, out = probed(["check", str(flows)], tmp_path, heavy=(module,))
        assert heavy == loaded
        assert ("PF408" in out) == bool(loaded), out
