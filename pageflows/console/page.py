"""What a console page module offers: its place in the navigation and its routes."""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint

from pageflows.api.context import ApiContext


class ConsolePage(Protocol):
    NAV: tuple[str, str]  # (endpoint, label) in the navigation bar

    def register(self, blueprint: Blueprint, context: ApiContext) -> None: ...
