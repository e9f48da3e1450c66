"""The terminal shells of the core: `pageflows chat` and the `.chat` transcript runner.

They run the pure core with a fake clock and no I/O but the terminal, so a flow
can be tried and tested without a server.
"""
