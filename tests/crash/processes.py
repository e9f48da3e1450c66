"""The processes under test: the Graph API simulator, `pageflows serve` and `pageflows worker`.

All are started through the CLI, as an operator would. The simulator is its
own process so its log of sends survives every kill of the others; `serve`
(the webhook and a worker, or with --web-only the webhook alone) and
`worker` run in non-sandbox mode, configured only by environment variables,
and are killed with SIGKILL: no handler, no flush, no goodbye.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from pageflows.ports import free_port

GRAPH_VERSION = "v25.0"
HOST = "127.0.0.1"
# werkzeug's access log line: "POST /v25.1002/me/messages?access_token=... HTTP/1.1" 200
ACCESS_LINE = re.compile(
    r'"(?:\x1b\[[0-9;]*m)*[A-Z]+ /(v\d+\.\d+)(/[^?\s]*)\S* HTTP/[\d.]+(?:\x1b\[[0-9;]*m)*" (\d{3})'
)


def pageflows_command() -> list[str]:
    """The `pageflows` script of this interpreter's environment (the .venv's, under make)."""
    beside = Path(sys.executable).with_name("pageflows")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("pageflows")
    if found:
        return [found]
    return [sys.executable, "-c", "from pageflows.cli import main; main()"]


def clean_environment() -> dict[str, str]:
    """The caller's environment without any PAGEFLOWS_ setting that could leak into serve."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PAGEFLOWS_")}


def wait_until(probe: Any, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(interval)
    return bool(probe())


@dataclass(frozen=True)
class Page:
    page_id: str = "104123456789012"
    token: str = "crash-page-token"
    app_secret: str = "crash-app-secret"
    verify_token: str = "crash-verify-token"


class Simulator:
    """`pageflows simulator serve` on its own port, driven through `/_sim/`."""

    def __init__(self, workdir: Path, page: Page, webhook_url: str) -> None:
        self.port = free_port()
        self.root = f"http://{HOST}:{self.port}"
        self.graph_url = f"{self.root}/{GRAPH_VERSION}"
        self.page = page
        self.webhook_url = webhook_url
        self.workdir = workdir
        self._log: IO[bytes] = (workdir / "simulator.log").open("ab")
        self._session = requests.Session()
        self.process = subprocess.Popen(
            [*pageflows_command(), "simulator", "serve", "--host", HOST, "--port", str(self.port),
             "--page-id", page.page_id, "--token", page.token, "--app-secret", page.app_secret,
             "--webhook-url", webhook_url, "--verify-token", page.verify_token],
            stdout=self._log, stderr=subprocess.STDOUT, env=clean_environment(), cwd=workdir,
        )  # fmt: skip

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self._session.request(method, f"{self.root}/_sim/{path}", json=body, timeout=30)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} /_sim/{path} -> {answer.status_code}: {answer.text}")
        return answer.json()

    def start(self, timeout: float = 30.0) -> None:
        def up() -> bool:
            try:
                self.call("GET", "messages?after=999999999")
            except (requests.ConnectionError, RuntimeError):
                return False
            return True

        if not wait_until(up, timeout, 0.1):
            raise RuntimeError(f"the simulator did not start on {self.root}")
        p = self.page
        self.call("POST", "pages", {
            "page_id": p.page_id, "token": p.token, "app_secret": p.app_secret,
            "webhook_url": self.webhook_url, "verify_token": p.verify_token, "name": "Crash",
        })  # fmt: skip

    def add_contact(self, psid: str) -> None:
        """A contact Facebook knows, whose 24 h window the message it is about to send opens."""
        self.call("POST", "contacts", {"page_id": self.page.page_id, "psid": psid,
                                       "first_name": "Crash", "last_name": psid[-4:]})  # fmt: skip
        self.call("POST", f"contacts/{psid}/seen", {"page_id": self.page.page_id})

    def messages(self, after: int = 0) -> list[dict[str, Any]]:
        """Every send the simulator accepted or refused, in order (those after `seq`)."""
        data: list[dict[str, Any]] = self.call("GET", f"messages?after={after}")["data"]
        return data

    def wait_for_send(self, after: int, timeout: float) -> int:
        """Return the newest `seq` as soon as a send after `after` is logged (or at timeout).

        The kill that follows lands while serve may not yet have recorded that send:
        the window in which a crash can double a message.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(after)
            if found:
                return int(found[-1]["seq"])
            if time.monotonic() >= deadline:
                return after
            time.sleep(0.001)

    def calls_by_version(self, path: str = "/me/messages") -> Counter[str]:
        """Graph API calls answered 200, counted by the version in their path (the access log).

        Each worker process uses a version of its own (`Worker`), so this is how
        many Send API calls (or profile look-ups, path `/<psid>`) each one made.
        """
        counts: Counter[str] = Counter()
        text = (self.workdir / "simulator.log").read_text("utf-8", "replace")
        for version, called, status in ACCESS_LINE.findall(text):
            if status == "200" and (called == path or (path == "/<psid>" and called[1:].isdigit())):
                counts[version] += 1
        return counts

    def last_caller(self, path: str = "/me/messages", tail: int = 16384) -> str | None:
        """The version (so the worker start, `Worker`) of the latest call to `path` in the
        access log, which werkzeug writes as it answers."""
        with (self.workdir / "simulator.log").open("rb") as log:
            log.seek(max(0, log.seek(0, 2) - tail))
            text = log.read().decode("utf-8", "replace")
        calls = [version for version, called, _ in ACCESS_LINE.findall(text) if called == path]
        return calls[-1] if calls else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._session.close()
        self._log.close()


class Process:
    """A pageflows CLI process the harness starts, kills and starts again, one log per start.

    Configured only by environment variables, as an operator would; `name`
    prefixes its logs (`serve-001.log`, `worker2-003.log`).
    """

    name = "process"

    def __init__(self, workdir: Path, flows: Path, page: Page, database_url: str) -> None:
        self.workdir = workdir
        self.flows = flows
        self.page = page
        self.database_url = database_url
        self.graph_url = ""
        self.extra_env: dict[str, str] = {}  # e.g. PAGEFLOWS_PAGE_RATE
        self.process: subprocess.Popen[bytes] | None = None
        self.generation = 0  # how many times it was started
        self.exits: list[int] = []  # exit codes of runs that ended without our kill
        self.stopped: list[
            int | None
        ] = []  # exit codes after our SIGTERM (None: killed at timeout)
        self.logs: list[Path] = []

    def arguments(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {
            **clean_environment(),
            "PAGEFLOWS_PAGE_ID": self.page.page_id,
            "PAGEFLOWS_PAGE_TOKEN": self.page.token,
            "PAGEFLOWS_APP_SECRET": self.page.app_secret,
            "PAGEFLOWS_VERIFY_TOKEN": self.page.verify_token,
            "PAGEFLOWS_GRAPH_URL": self.graph_url,
            "PAGEFLOWS_DATABASE_URL": self.database_url,
            **self.extra_env,
        }

    def start(self) -> None:
        self.generation += 1
        path = self.workdir / f"{self.name}-{self.generation:03d}.log"
        self.logs.append(path)
        with path.open("wb") as log:
            self.process = subprocess.Popen(
                [*pageflows_command(), *self.arguments()],
                stdout=log, stderr=subprocess.STDOUT, env=self.environment(), cwd=self.workdir,
            )  # fmt: skip

    @property
    def log(self) -> Path:
        """The log of the current (or last) start."""
        return self.logs[-1]

    def healthy(self, timeout: float = 0.5) -> bool:
        raise NotImplementedError

    def wait_healthy(self, timeout: float) -> bool:
        return wait_until(lambda: self.alive() and self.healthy(), timeout, 0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_exit(self) -> int | None:
        """The exit code if it ended on its own (a crash we did not cause); recorded once."""
        if self.process is None or self.process.poll() is None:
            return None
        code = self.process.returncode
        self.exits.append(code)
        self.process = None
        return code

    def restart_if_dead(self) -> int | None:
        """It dies only by our hand; if it exits on its own, note it and start it again."""
        code = self.check_exit()
        if code is not None:
            self.start()
        return code

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish a transaction or a send."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        else:
            self.exits.append(self.process.returncode)  # it had died on its own first
        self.process.wait()
        self.process = None

    def terminate(self) -> None:
        """SIGTERM, without waiting: `wait_stopped` collects the exit code."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        else:
            self.exits.append(self.process.returncode)  # it had died on its own first
            self.process = None

    def wait_stopped(self, timeout: float = 15.0) -> int | None:
        """After `terminate`: the exit code, recorded in `stopped` (None: SIGKILLed at timeout,
        or it had already died on its own, which `exits` records)."""
        if self.process is None:
            self.stopped.append(None)
            return None
        code: int | None = None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.stopped.append(code)
        self.process = None
        return code

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait: the exit code, recorded in `stopped` (None: SIGKILLed at timeout)."""
        if self.process is None:
            return None
        self.terminate()
        return self.wait_stopped(timeout)


class Server(Process):
    """`pageflows serve FLOWS` in non-sandbox mode: the webhook and one worker."""

    name = "serve"

    def __init__(self, workdir: Path, flows: Path, page: Page, database_url: str) -> None:
        super().__init__(workdir, flows, page, database_url)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"

    def arguments(self) -> list[str]:
        return ["serve", str(self.flows), "--host", HOST, "--port", str(self.port)]

    def healthy(self, timeout: float = 0.5) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=timeout).status_code == 200
        except requests.RequestException:
            return False


class WebServer(Server):
    """`pageflows serve FLOWS --web-only --workers N`: only the webhook, in N processes."""

    name = "web"

    def __init__(
        self, workdir: Path, flows: Path, page: Page, database_url: str, processes: int
    ) -> None:
        super().__init__(workdir, flows, page, database_url)
        self.processes = processes

    def arguments(self) -> list[str]:
        return [*super().arguments(), "--web-only", "--workers", str(self.processes)]


class Worker(Process):
    """`pageflows worker FLOWS`: deciding and sending, no webhook; one of a numbered slot.

    Each start talks to the simulator under a Graph API version of its own
    (`v25.<slot*1000+generation>`, which the simulator accepts like any other, and
    pageflows starts on with a warning that the version is not in its table),
    so the simulator's access log says which process made each call.
    """

    def __init__(
        self,
        workdir: Path,
        flows: Path,
        page: Page,
        database_url: str,
        slot: int,
        senders: int | None = None,
    ) -> None:
        super().__init__(workdir, flows, page, database_url)
        self.slot = slot
        self.name = f"worker{slot}"
        self.senders = senders

    def arguments(self) -> list[str]:
        senders = [] if self.senders is None else ["--senders", str(self.senders)]
        return ["worker", str(self.flows), *senders]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        root, _, _ = self.graph_url.rstrip("/").rpartition("/")
        env["PAGEFLOWS_GRAPH_URL"] = f"{root}/{graph_version(self.slot, self.generation)}"
        return env

    def healthy(self, timeout: float = 0.5) -> bool:
        """Up once the CLI says its loops started (it printed the line after registering)."""
        try:
            return WORKER_STARTED in self.log.read_text("utf-8", "replace")
        except (OSError, IndexError):
            return False


WORKER_STARTED = "worker started for"


def graph_version(slot: int, generation: int) -> str:
    """The Graph API version a worker start uses: its name in the simulator's access log."""
    return f"v25.{slot * 1000 + generation}"
