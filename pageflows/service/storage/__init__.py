"""Storage: SQLAlchemy 2 models, the database engine, and the queries the worker runs."""
