"""Debian's headless Chromium, launched one way by every browser test.

Why the headless shell (package ``chromium-headless-shell``) and not ``chromium --headless``: the
full browser in headless mode still runs its own tab-strip web UI in a renderer process of its own,
one more process wanting CPU on a 2-core CI machine where a farm renders; in one CI run two such
renderers spun at ~90 % CPU each for an hour. The shell is the same engine without the browser UI.
The binary itself, not ``/usr/bin/chromium-headless-shell``: that wrapper script does not ``exec``,
so Playwright would stop the script and leave the browser running.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Playwright) -> Browser:
    """The browser for a test; fails the test (not skips it) when the package is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's {CHROMIUM}: apt-get install chromium-headless-shell")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
