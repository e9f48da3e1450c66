"""The checks of asked answers, where the engine has always found them.

They live in rules/answers.py since issue 12: the checker needs them too (a
quick reply under an `ask` that the question would refuse is a warning), and
rules/ cannot import the engine. One copy, so the two never disagree.
"""

from __future__ import annotations

from pageflows.rules.answers import CHECKS, is_email, is_number, is_phone, validate

__all__ = ["CHECKS", "is_email", "is_number", "is_phone", "validate"]
