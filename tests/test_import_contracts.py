"""The rooms' import rules (docs/ARCHITECTURE.md) hold: checked by import-linter on every test run.

Why a test and not only a CI step: the README's one test command is what CI runs, so a change that
makes the API import torch or the worker, makes ``shared/`` import either side, or closes an
import circle between sibling modules fails the suite itself. The contracts are in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parent.parent


def test_api_worker_and_shared_keep_their_import_contracts(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    exit_code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "0 broken" in report
