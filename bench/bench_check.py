"""Benchmark 2: `pageflows check` of 1,000, 10,000 and 100,000 keyword triggers.

A seeded generator writes a folder of flow files as a busy Page might have
them: every trigger is a block `on keyword "..."` (one to three keywords, all
three modes) with a comment above it now and then, a send with one or two
quick replies to steps of its file, now and then a tag, a `set`, a field shown
back or a `goto`; each file has its steps, a few `on ref` triggers and one
`on message`. 400 triggers a file (about 110 KB, flow files are limited to
1 MB), so 10,000 triggers are 25 files.

Two series:

* **clean**: the flows above: `check` finds nothing;
* **findings**: the same flows, but every trigger's quick reply shows the
  contact's name in a title with too little room for it, so every trigger
  draws one warning (PF414 title-may-be-cut): 10,000 triggers, 10,000 findings
  to render. This shows rendering is linear in the number of findings too.

Each is timed two ways:

* **cli**: `pageflows check FOLDER` as a user runs it (a subprocess of the
  installed CLI: interpreter start-up and imports count; compiled modules kept
  in __pycache__ as after any install, even where PYTHONDONTWRITEBYTECODE is
  set around the benchmark), wall time;
* **in-process**: `load_paths` (read, parse, build, checks, compile) and
  `render_text`, imports already done: each measure in a new interpreter that has
  imported pageflows and checked a one-trigger flow (first-use costs paid), so every
  size starts from the same state (not in this process, where from the second round
  a small job ran in memory the larger ones had left mapped and the 10,000-trigger
  job faulted its 40-64 MB back in: a bias towards the small job).

Baselines, measured in the same run and interleaved round by round with ours:

* `python -c pass`: the interpreter's own start-up, the floor of any CLI;
* a bare Lark parse (our grammar, LALR, the same postlexer) of the same flow
  text, file by file, parser built beforehand: the floor of reading the
  language with the parser we use. The ratio says what our own work costs.

Figures: seconds at each size (best of the rounds), wall and CPU; the ratios
10k/1k and 100k/10k (linear is ~10; the target, <= 12, is on CPU time: see
timed()); `check` of 10,000 triggers under 1 s of wall time (a bound on the
value). A ratio compares the best of the same rounds on both sides: the rounds
in which both sizes ran (100,000 triggers run in the last round only, a minute
each), so neither side has more chances at a quiet moment than the other.

Run: .venv/bin/python bench/bench_check.py [--quick] [--sizes 1000,10000] [--rounds N]
     [--json PATH]
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import Results, arguments, ratio_at_most, value_at_most  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
PER_FILE = 400
WARM = 20  # triggers checked by an in-process measure's interpreter before it is timed
STEPS_PER_FILE = 12
AS_OF = "2026-11-28"
# The installed command, beside this interpreter (.venv/bin/pageflows).
PAGEFLOWS = Path(sys.executable).parent / "pageflows"

_SYLLABLES = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"]
_WORDS = [
    "price",
    "shipping",
    "order",
    "size",
    "colour",
    "refund",
    "hours",
    "store",
    "sale",
    "gift",
    "card",
    "jacket",
    "shoes",
    "dress",
    "bag",
]
_SENTENCES = [
    "Our {what} starts at ${n}. See https://shop.example.com/{what}",
    "Thanks for asking about {what}! Most orders ship within {n} days.",
    "We have {what} in stock in {n} colours. Want to see them?",
    "Good news: {what} is {n}% off this week only.",
    "Hi {{contact.first_name|there}}! Here is what we know about {what}.",
]


def _word(rnd: random.Random) -> str:
    return "".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(2, 4)))


def flow_text(file_no: int, triggers: int, *, findings: bool) -> str:
    """One flow file of `triggers` keyword triggers (seeded by the file's number)."""
    rnd = random.Random(file_no)
    # Every step is reached (the t-th trigger's first quick reply leads to step t),
    # else each would draw PF402 unreachable-step.
    steps = [f"s{file_no}_{i}" for i in range(max(3, min(STEPS_PER_FILE, triggers)))]
    out: list[str] = [f"# Generated flow {file_no}: {triggers} keyword triggers.\n"]
    for t in range(triggers):
        what = rnd.choice(_WORDS)
        count = rnd.choices((1, 2, 3), weights=(5, 3, 2))[0]
        # Unique per file and trigger: no trigger shadows another (PF401).
        keywords = [f"{_word(rnd)} {file_no}x{t}x{k}" for k in range(count)]
        mode = rnd.choice(("", "", " starts", " exact"))
        if rnd.random() < 0.3:
            out.append(f"# {what}: asked about {rnd.randint(2, 90)} times a week\n")
        quoted = ", ".join(f'"{k}"' for k in keywords)
        out.append(f"on keyword {quoted}{mode}:\n")
        if rnd.random() < 0.2:
            out.append(f'    tag "asked-{what}"\n')
        if rnd.random() < 0.1:
            out.append(f'    set last_topic = "{what}"\n')
        sentence = rnd.choice(_SENTENCES).format(what=what, n=rnd.randint(2, 60))
        out.append(f'    send "{sentence}"\n')
        if findings:
            # 12 fixed characters leave 8 for the name: PF414, one warning per trigger.
            title = "Yes please {contact.first_name}"
            out.append(f'        quick "{title}" -> {steps[t % len(steps)]}\n')
        else:
            out.append(f'        quick "Yes please" -> {steps[t % len(steps)]}\n')
        if rnd.random() < 0.5:
            out.append(f'        quick "No thanks" -> {rnd.choice(steps)}\n')
        if rnd.random() < 0.1:
            out.append(f"    goto {rnd.choice(steps)}\n")
        out.append("\n")
    for i, step in enumerate(steps):
        out.append(f"step {step}:\n")
        if i % 3 == 0:
            out.append('    send "Your last question was about {contact.last_topic|us}."\n')
        else:
            out.append(f'    send "Step {i} of flow {file_no}: tell us more."\n')
        out.append("\n")
    for r in range(3):
        out.append(f'on ref "campaign_{file_no}_{r}":\n    goto {steps[r]}\n\n')
    if file_no == 0:  # Facebook may drop refs in the EU: the fallback (else PF404)
        out.append('on ref missing:\n    send "Hi! How did you find us?"\n\n')
    return "".join(out)


def write_flows(folder: Path, triggers: int, *, findings: bool) -> list[Path]:
    """`triggers` keyword triggers in files of PER_FILE; the folder is created."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n, start in enumerate(range(0, triggers, PER_FILE)):
        path = folder / f"flow_{n:04d}.flow"
        path.write_text(
            flow_text(n, min(PER_FILE, triggers - start), findings=findings), encoding="utf-8"
        )
        files.append(path)
    return files


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Measured:
    """A job that timed itself elsewhere (the in-process job, in its own interpreter)."""

    wall: float
    cpu: float


def timed(job: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call (its child processes' CPU included), or what the
    job measured itself (`Measured`).

    The collector is paused as timeit does (and as `check` does). CPU time is
    given beside wall time because this machine is shared: another process
    taking a core stretches the wall time of a run, much less its CPU time.
    """
    gc.collect()
    gc.disable()
    try:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time()
        start = time.perf_counter()
        kept = job()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        spent = time.process_time() - cpu + child_cpu
        if isinstance(kept, Measured):
            return kept.wall, kept.cpu
        # Freed after the clock stops, for every job alike: `check` from the command line
        # ends without freeing its objects (cli/__init__.py), and the in-process job freed
        # the whole program inside the timed window (at 100,000 triggers, seconds of it).
        del kept
        return wall, spent
    finally:
        gc.enable()


def summary_line(findings: int) -> str:
    """What `check` must end with for a generated folder (the run fails otherwise)."""
    if findings == 0:
        return "no problems"
    return f"0 errors, {findings} warning{'s' * (findings != 1)}"


# A user's environment: Python keeps the modules it compiled (__pycache__), as after any
# install. Without it (PYTHONDONTWRITEBYTECODE=1, as some sandboxes set) every command
# compiles pageflows from its source again: 0.1 s of each `check` that no user pays.
USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def cli_job(folder: Path, findings: int) -> Callable[[], object]:
    """`pageflows check FOLDER` in a new process, as a user runs it."""

    def job() -> object:
        run = subprocess.run(
            [str(PAGEFLOWS), "check", "--as-of", AS_OF, str(folder)],
            capture_output=True,
            text=True,
            check=False,
            cwd=folder,
            env=USER_ENV,
        )
        last = run.stdout.strip().rsplit("\n", 1)[-1]
        if run.returncode != 0 or not last.endswith(summary_line(findings)):
            raise SystemExit(f"check of {folder} answered:\n{last}\n{run.stderr[-2000:]}")
        return run

    return job


def python_pass() -> object:
    """The interpreter's own start-up: the floor of any command line."""
    return subprocess.run([sys.executable, "-c", "pass"], check=True, env=USER_ENV)


def in_process_run(folder: Path, findings: int) -> Callable[[], object]:
    """Read, parse, build, check, compile and render, in this process (imports done)."""
    from pageflows.engine.policy import RULES, check_tag
    from pageflows.rules.load import load_paths
    from pageflows.rules.report import render_text

    day = date.fromisoformat(AS_OF)

    def job() -> object:
        result = load_paths([str(folder)], day, check_tag, (), RULES.token_regions)
        text = render_text(result.diagnostics, result.sources)
        if len(result.diagnostics) != findings or result.program is None:
            raise SystemExit(f"{folder}: {len(result.diagnostics)} findings, {findings} expected")
        return result, text

    return job


# The argument that makes this script one in-process measure (in_process_job).
ONE_JOB = "--one-in-process-job"


def one_in_process_job(folder: str, findings: str, warm: str, warm_findings: str) -> None:
    """In a new interpreter: imports, a check of a few triggers of the same series
    (first-use costs: validators, regexes, the first finding rendered), then the job
    timed once; wall and CPU seconds printed as JSON."""
    job = in_process_run(Path(folder), int(findings))
    in_process_run(Path(warm), int(warm_findings))()
    wall, cpu = timed(job)
    print(json.dumps({"wall": wall, "cpu": cpu}))


def in_process_job(
    folder: Path, findings: int, warm: Path, warm_findings: int
) -> Callable[[], object]:
    """The in-process measure, each time in a new interpreter: every size starts from the
    same state (in one process, from the second round the 1,000-trigger job reused the
    memory the larger jobs had left mapped, where each 10,000-trigger job faulted its
    40-64 MB back in)."""

    def job() -> object:
        run = subprocess.run(
            [sys.executable, __file__, ONE_JOB, *map(str, (folder, findings, warm, warm_findings))],
            capture_output=True,
            text=True,
            check=False,
            env=USER_ENV,
        )
        if run.returncode != 0:
            raise SystemExit(f"in-process check of {folder} failed:\n{run.stderr[-2000:]}")
        got = json.loads(run.stdout.strip().rsplit("\n", 1)[-1])
        return Measured(float(got["wall"]), float(got["cpu"]))

    return job


def lark_job(folder: Path) -> Callable[[], object]:
    """The same files parsed by our Lark parser alone, built beforehand: no checks, no model."""
    from pageflows.rules.parse import parser

    lark = parser()
    texts = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.flow"))]

    def job() -> object:
        return [lark.parse(text) for text in texts]

    return job


# --------------------------------------------------------------------------- the run


def main() -> int:
    parser = arguments(__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes", help="comma-separated trigger counts (default 1000,10000,100000)"
    )
    parser.add_argument("--rounds", type=int, help="rounds of each measure (best kept)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="also time the in-process check (--quick skips it)",
    )
    parser.add_argument(
        "--findings",
        action="store_true",
        help="also time the findings series (--quick skips it)",
    )
    args = parser.parse_args()
    sizes = (
        tuple(int(n) for n in args.sizes.split(","))
        if args.sizes
        else (QUICK_SIZES if args.quick else SIZES)
    )
    # Five rounds (long form): the 1,000-trigger jobs take 0.1 s, where one unlucky
    # moment of a shared machine moves the 10,000 vs 1,000 ratio by a whole unit.
    rounds = args.rounds or (1 if args.quick else 5)
    in_process = args.in_process or not args.quick
    # The findings series (linear in the findings) in the long form only: --quick keeps
    # make bench-quick within its minute.
    all_series = ("clean", "findings") if args.findings or not args.quick else ("clean",)
    results = Results("check", quick=args.quick)

    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        folders: dict[tuple[str, int], Path] = {}
        for size in sizes:
            for series in all_series:
                folder = Path(tmp) / f"{series}-{size}"
                write_flows(folder, size, findings=series == "findings")
                folders[series, size] = folder
        expected = {("clean", n): 0 for n in (*sizes, WARM)}
        expected |= {("findings", n): n for n in (*sizes, WARM)}
        # What an in-process measure checks first in its new interpreter: the same series.
        warm = {series: Path(tmp) / f"warm-{series}" for series in all_series}
        for series, folder in warm.items():
            write_flows(folder, WARM, findings=series == "findings")

        # name -> job; every job runs once a round, in this order, and the best is kept.
        tiny = Path(tmp) / "one-trigger"
        tiny.mkdir()
        (tiny / "hello.flow").write_text('on keyword "hi":\n    send "Hello!"\n', "utf-8")
        jobs: dict[str, Callable[[], object]] = {
            "python -c pass": python_pass,
            "cli one trigger": cli_job(tiny, 0),
        }
        for size in sizes:
            jobs[f"lark {size}"] = lark_job(folders["clean", size])
            for series in all_series:
                key = (series, size)
                jobs[f"cli {series} {size}"] = cli_job(folders[key], expected[key])
                if in_process:
                    jobs[f"in-process {series} {size}"] = in_process_job(
                        folders[key], expected[key], warm[series], expected[series, WARM]
                    )
        # name -> round -> (wall, CPU)
        seen: dict[str, dict[int, tuple[float, float]]] = {name: {} for name in jobs}
        for round_no in range(rounds):
            for name, job in jobs.items():
                # 100,000 triggers take a minute a run: in the last round only.
                if round_no < rounds - 1 and name.endswith(" 100000"):
                    continue
                took, used = timed(job)
                seen[name][round_no] = (took, used)
                print(f"  round {round_no + 1}: {name}: {took:.3f} s ({used:.3f} s CPU)")
        best = {name: min(w for w, _ in by_round.values()) for name, by_round in seen.items()}
        cpu = {name: min(c for _, c in by_round.values()) for name, by_round in seen.items()}

    results.add(
        "check cli, 1 trigger (start-up), vs python -c pass",
        best["cli one trigger"],
        "s",
        baseline=best["python -c pass"],
        baseline_name="python -c pass",
    )
    for size in sizes:
        lark = best[f"lark {size}"]
        results.add(f"bare Lark parse, {size:,}", lark, "s")
        for series in all_series:
            what = "clean" if series == "clean" else "findings"
            cli = best[f"cli {series} {size}"]
            target = value_at_most(1.0) if size == 10_000 and series == "clean" else None
            results.add(
                f"check cli, {size:,} triggers, {what}, vs Lark",
                cli,
                "s",
                baseline=lark,
                baseline_name="bare Lark parse of the same files",
                target=target,
            )
            results.add(
                f"check cli CPU, {size:,} triggers, {what}, vs Lark",
                cpu[f"cli {series} {size}"],
                "s",
                baseline=cpu[f"lark {size}"],
                baseline_name="CPU time of the bare Lark parse",
            )
            if in_process:
                results.add(
                    f"check in-process, {size:,} triggers, {what}, vs Lark",
                    best[f"in-process {series} {size}"],
                    "s",
                    baseline=lark,
                    baseline_name="bare Lark parse of the same files",
                )
        if "findings" not in all_series:
            continue
        results.add(
            f"check cli, {size:,} triggers, findings vs clean",
            best[f"cli findings {size}"],
            "s",
            baseline=best[f"cli clean {size}"],
            baseline_name="check of the same triggers without findings",
        )

    # Linear in the triggers and in the findings: each tenfold size within 12x. The
    # target is on CPU time, which a busy shared machine stretches far less than
    # wall time; the wall time ratio is given beside it. Both sides of a ratio are the
    # best of the same rounds (those both sizes ran in).
    def pair(name: str, small: int, large: int, which: int) -> tuple[float, float]:
        both = seen[f"{name} {small}"].keys() & seen[f"{name} {large}"].keys()
        return (
            min(seen[f"{name} {large}"][r][which] for r in both),
            min(seen[f"{name} {small}"][r][which] for r in both),
        )

    for small, large in itertools.pairwise(sizes):
        growth = large / small
        for kind in ("cli", "in-process") if in_process else ("cli",):
            for series in all_series:
                name = f"{kind} {series}"
                value, baseline = pair(name, small, large, 1)
                results.add(
                    f"check {kind} CPU, {series}, {large:,} vs {small:,} triggers",
                    value,
                    "s",
                    baseline=baseline,
                    baseline_name=f"the same at {small:,}, best of the same rounds",
                    target=ratio_at_most(growth * 1.2),
                )
                value, baseline = pair(name, small, large, 0)
                results.add(
                    f"check {kind}, {series}, {large:,} vs {small:,} triggers",
                    value,
                    "s",
                    baseline=baseline,
                    baseline_name=f"the same at {small:,}, best of the same rounds",
                )
        value, baseline = pair("lark", small, large, 1)
        results.add(
            f"bare Lark parse CPU, {large:,} vs {small:,}",
            value,
            "s",
            baseline=baseline,
            baseline_name=f"the same at {small:,}, best of the same rounds",
        )
    print(results.table())
    results.write(args.json)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == [ONE_JOB]:
        one_in_process_job(*sys.argv[2:6])
        sys.exit(0)
    sys.exit(main())
