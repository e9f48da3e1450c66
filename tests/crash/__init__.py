"""A Jepsen-style crash test: real `pageflows serve` processes killed with SIGKILL.

Run the long form with `make crash`, or one run with
`.venv/bin/python -m tests.crash --database sqlite --duration 60 --kills 10`.
`test_crash.py` is the short form CI runs. docs/reliability.md explains the
counts and the guarantees they check.

The harness talks to the service only through what outlives a rewrite of its
internals: the database tables, the simulator's HTTP routes and the CLI.
"""
