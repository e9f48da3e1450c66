"""The service shells: storage, the Graph API client, the worker, the sender, settings.

They carry out what the pure core (`pageflows.engine`) decides: every I/O of
the running service lives here or in `pageflows.webhook`.
"""
