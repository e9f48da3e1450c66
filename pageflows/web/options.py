"""What the web server is asked to do: one frozen value, the same in the parent and the child.

`spawn` turns it into the command line of `python -m pageflows.web`, which
turns it back; `problems` names each value that cannot work, as one line.
"""

from __future__ import annotations

from dataclasses import dataclass

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class WebOptions:
    host: str
    port: int
    workers: int = 1  # gunicorn worker processes
    threads: int = 4  # threads per process, each serving one whole request at a time
    connections: int = 2000  # simultaneous client connections per process
    timeout: float = 10.0  # seconds a client has to send a whole request
    keepalive: float = 5.0  # seconds an idle kept-alive connection stays open (0: none)
    graceful_timeout: float = 10.0  # seconds a stop waits for requests being served
    config_path: str | None = None  # pageflows.toml; the environment wins over it
    flows_dir: str | None = None  # the flows the operator API reads (broadcasts, links, stats)
    sandbox: bool = False
    # issue 11: sandbox mode's simulator (its root URL): its clock is the time, and the
    # console's preview plays the contact through it.
    simulator_url: str | None = None
    log_level: str = "info"
    access_log: bool = False  # one line per request on stdout
    reuse_port: bool = False  # SO_REUSEPORT: see pageflows/web/__init__.py before turning it on
    backlog: int = 2048  # connections the kernel queues before a process accepts them

    def problems(self) -> list[str]:
        """Each option that cannot work, in words for the operator (empty: all fine)."""
        found = []
        if not 0 < self.port <= 65535:
            found.append(f"--port {self.port} is not a port: use 1 to 65535")
        for name in ("workers", "threads", "backlog"):
            if getattr(self, name) < 1:
                found.append(f"--{name} must be at least 1")
        if self.connections <= self.threads:
            found.append(
                f"--connections ({self.connections}) must be more than --threads ({self.threads})"
            )
        if self.timeout <= 0:
            found.append("--timeout must be more than 0 seconds")
        if self.keepalive < 0 or self.graceful_timeout < 0:
            found.append("--keepalive and --graceful-timeout cannot be negative")
        if self.log_level not in LOG_LEVELS:
            found.append(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
        return found

    def arguments(self) -> list[str]:
        """The command-line flags of `python -m pageflows.web` that ask for these options."""
        args = [
            "--host", self.host, "--port", str(self.port), "--workers", str(self.workers),
            "--threads", str(self.threads), "--connections", str(self.connections),
            "--timeout", repr(self.timeout), "--keepalive", repr(self.keepalive),
            "--graceful-timeout", repr(self.graceful_timeout), "--log-level", self.log_level,
            "--backlog", str(self.backlog),
        ]  # fmt: skip
        if self.config_path is not None:
            args += ["--config", self.config_path]
        if self.flows_dir is not None:
            args += ["--flows", self.flows_dir]
        if self.simulator_url is not None:
            args += ["--simulator", self.simulator_url]
        for flag, on in (
            ("--sandbox", self.sandbox),
            ("--access-log", self.access_log),
            ("--reuse-port", self.reuse_port),
        ):
            if on:
                args.append(flag)
        return args
