"""Half of the checks in a forked child, on the machine's second core (issue 13: A).

Why: `pageflows check` of 10,000 triggers spends about 0.6 s compiling the
program and running the checks after the flows are read, one core busy while
the other waits. A forked child shares the model as it is (copy-on-write: no
copy, no pickling of 140,000 nodes) and runs the checks that need no program
while the parent compiles and runs the others; only its findings come back,
as plain values.

It must never change what a user sees, so the parent is the judge: if the
child cannot be started, fails, dies or sends anything unreadable, the parent
runs the same job itself, and any exception is raised there, once, as it
would be without a child. The child writes nothing but its answer to its own
pipe and ends with `os._exit` (no atexit handlers, no flushing of buffers it
inherited). It is used only where asked (`pageflows check`), never in a process
with other threads (a lock held by one of them would stay held in the child).
"""

from __future__ import annotations

import marshal
import os
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pageflows.rules.diagnostics import Diagnostic

# issue 13: A: this module imports nothing of pydantic's or the model's (the findings'
# classes are imported where the child's findings are made again): `pageflows check`
# forks its lexing child (lex_ahead.py) before it imports them.
Found = dict[str, list["Diagnostic"]]
# One finding as plain values marshal can carry: code, severity, span, message,
# hint, and the fields that were given when it was made.
_Plain = tuple[str, str, tuple[object, ...], str, str | None, tuple[str, ...]]


def can_fork() -> bool:
    """A fork is safe here: the platform has one, no other thread is running, and it is
    not macOS (where a forked child may crash in system libraries; Python's own
    multiprocessing no longer forks there); and worth it: this process may run on more
    than one core (a child on the same core only adds its own work)."""
    return (
        hasattr(os, "fork")
        and sys.platform != "darwin"
        and threading.active_count() == 1
        and _cores() > 1
    )


def _cores() -> int:
    """The cores this process may run on (os.cpu_count where that cannot be asked)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Child:
    """``job`` running in a forked child; `result` waits for it (or runs it here).

    What the job returns crosses the pipe as ``to_plain`` makes it (values marshal
    carries) and is made again by ``from_plain``: by default, the checks' findings.
    """

    def __init__(
        self,
        job: Callable[[], Any],
        to_plain: Callable[[Any], Any] | None = None,
        from_plain: Callable[[Any], Any] | None = None,
    ) -> None:
        self.job = job
        self.to_plain = to_plain or _plain
        self.from_plain = from_plain or _rebuilt
        self.pid = 0
        self.read_end = -1
        # Nothing buffered is written twice (the child never flushes); no stream or a
        # closed one holds nothing of ours.
        for stream in (sys.stdout, sys.stderr):
            with suppress(AttributeError, OSError, ValueError):
                stream.flush()
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return  # no child: `result` runs the job here
        if pid == 0:  # pragma: no cover - the child; its work is compared by the tests
            _run_child(lambda: self.to_plain(job()), read_end, write_end)
        os.close(write_end)
        self.pid, self.read_end = pid, read_end

    def result(self) -> Any:
        """The child's findings; the job run here if the child gave none."""
        answer = self._answer()
        if answer is None:
            return self.job()
        return answer

    def answer(self) -> Any:
        """What the child's job returned, or None if the child gave nothing readable."""
        return self._answer()

    def _answer(self) -> Any:
        if not self.pid:
            return None
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self.read_end, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(self.read_end)
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
        if status != 0:
            return None
        try:
            return self.from_plain(marshal.loads(b"".join(chunks)))
        except (EOFError, ValueError, TypeError, KeyError):
            return None

    def close(self) -> None:
        """Waits for a child whose result is not wanted (the parent failed first)."""
        if self.pid:
            os.close(self.read_end)  # a child still writing ends on the broken pipe
            os.waitpid(self.pid, 0)
            self.pid = 0


def _run_child(
    job: Callable[[], Any], read_end: int, write_end: int
) -> None:  # pragma: no cover - runs in the child
    code = 1
    try:
        os.close(read_end)
        data = marshal.dumps(job())
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
        code = 0
    except BaseException:
        pass  # the parent runs the job again, and any error is raised there
    finally:
        os._exit(code)


def _plain(found: Found) -> dict[str, list[_Plain]]:
    return {name: plain_findings(diagnostics) for name, diagnostics in found.items()}


def plain_findings(found: list[Diagnostic]) -> list[_Plain]:
    """Findings as plain values that cross a pipe (marshal), for `findings_from_plain`."""
    return [
        (
            d.code.value,
            d.severity.value,
            tuple(d.span),
            d.message,
            d.hint,
            tuple(sorted(d.model_fields_set)),
        )
        for d in found
    ]


def _rebuilt(plain: Any) -> Found:
    """The child's findings as the very Diagnostic values it made."""
    return {name: findings_from_plain(items) for name, items in plain.items()}


def findings_from_plain(plain: Any) -> list[Diagnostic]:
    """`plain_findings`' values as the very Diagnostic values they were made from (a
    malformed one raises KeyError, ValueError or TypeError: the child's answer is dropped)."""
    from pageflows.rules.diagnostics import Code, Diagnostic, Severity
    from pageflows.rules.source import Span
    from pageflows.rules.trusted import trusted

    return [
        trusted(
            Diagnostic,
            {
                "code": Code(code),
                "severity": Severity(severity),
                "span": Span(*span),
                "message": message,
                "hint": hint,
            },
            frozenset(given),
        )
        for code, severity, span, message, hint, given in plain
    ]
