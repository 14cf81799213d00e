"""The rooms' import rules (docs/ARCHITECTURE.md) hold: checked by import-linter on every test run.

Why a test and not only a CI step: the README's one test command is what CI runs, so a change that
makes the API import torch or the worker, makes ``shared/`` import either side, or closes an
import circle between sibling modules fails the suite itself. The contracts are in pyproject.toml.
Run in its own process: import-linter configures logging with ``dictConfig``, which would silence
the loggers of every module this test process has imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"


def test_api_worker_and_shared_keep_their_import_contracts():
    result = subprocess.run([sys.executable, "-c", LINT], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
