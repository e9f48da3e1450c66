"""A Jepsen-style crash test: real `pageflows serve` processes killed with SIGKILL.

Run the long form with `make crash`, or one run with
`.venv/bin/python -m tests.crash --database sqlite --duration 60 --kills 10`.
`test_crash.py` is the short form CI runs. docs/reliability.md explains the
counts and the guarantees they check.

The same harness runs other topologies (stack.py `Topology`): `serve
--web-only` in front of several `pageflows worker` processes on one
PostgreSQL database, killed (SIGKILL) or restarted in turn (SIGTERM), with
contacts writing in order so the order of their replies is judged too;
pace.py checks the page's rate under a broadcast four workers send.
`test_many_processes.py` is their short form, `make crash-many` the long one.

The harness talks to the service only through what outlives a rewrite of its
internals: the database tables, the simulator's HTTP routes and the CLI.
"""
