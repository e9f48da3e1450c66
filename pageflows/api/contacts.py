"""Routes of the operator API (to be filled): see pageflows/api/__init__.py."""

from __future__ import annotations

from flask import Blueprint

from pageflows.api.context import ApiContext


def register(blueprint: Blueprint, context: ApiContext) -> None:
    """Add this module's routes to the /api blueprint."""
