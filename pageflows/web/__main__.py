"""`python -m pageflows.web`: the webhook under gunicorn, as `spawn` starts it.

Settings come from the environment and `--config`, as for `pageflows serve`.
A problem with the options or settings is one line and exit status 1.
"""

from __future__ import annotations

import click

from pageflows.web.application import WebError, run
from pageflows.web.options import LOG_LEVELS, WebOptions

DEFAULTS = WebOptions(host="127.0.0.1", port=8000)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default=DEFAULTS.host, show_default=True)
@click.option("--port", default=DEFAULTS.port, show_default=True, type=int)
@click.option(
    "--workers", default=DEFAULTS.workers, show_default=True, type=int, help="Worker processes."
)
@click.option(
    "--threads",
    default=DEFAULTS.threads,
    show_default=True,
    type=int,
    help="Threads per process, each serving one whole request at a time.",
)
@click.option(
    "--connections",
    default=DEFAULTS.connections,
    show_default=True,
    type=int,
    help="Simultaneous client connections per process.",
)
@click.option(
    "--timeout",
    default=DEFAULTS.timeout,
    show_default=True,
    type=float,
    help="Seconds a client has to send a whole request.",
)
@click.option(
    "--keepalive",
    default=DEFAULTS.keepalive,
    show_default=True,
    type=float,
    help="Seconds an idle kept-alive connection stays open (0: close after each).",
)
@click.option(
    "--graceful-timeout",
    default=DEFAULTS.graceful_timeout,
    show_default=True,
    type=float,
    help="Seconds a stop waits for the requests being served.",
)
@click.option("--backlog", default=DEFAULTS.backlog, show_default=True, type=int)
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Optional settings file; environment variables win over it.",
)
@click.option(
    "--flows",
    "flows_dir",
    default=None,
    type=click.Path(),
    help="The flows folder the operator API reads (broadcasts, links, stats).",
)
@click.option("--sandbox", is_flag=True, help="The built-in simulator's page and secrets.")
@click.option(
    "--simulator",
    "simulator_url",
    default=None,
    help="Sandbox mode: the built-in simulator's root URL (its clock is the time).",
)
@click.option(
    "--log-level", default=DEFAULTS.log_level, show_default=True, type=click.Choice(LOG_LEVELS)
)
@click.option("--access-log", is_flag=True, help="One line per request on stdout.")
@click.option("--reuse-port", is_flag=True, help="Bind with SO_REUSEPORT.")
def main(**given: object) -> None:
    """Serve /webhook and /healthz with gunicorn until SIGTERM."""
    try:
        run(WebOptions(**given))  # type: ignore[arg-type]  # click checked each type
    except WebError as exc:
        raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    main(prog_name="pageflows-web")
