"""A person going through the simulated Facebook Login dialog, over HTTP (no browser)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests


def through_dialog(dialog_url: str, choice: str = "continue") -> dict[str, str]:
    """Open the dialog, press Continue (or Cancel); the query the browser is sent back with."""
    page = requests.get(dialog_url, timeout=10)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: unescape(v) for k, v in fields.items()}
    root = "{0.scheme}://{0.netloc}".format(urlsplit(dialog_url))
    answer = requests.post(
        root + action.group(1), data={**fields, "choice": choice}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return {k: v[0] for k, v in parse_qs(back.query).items()}
