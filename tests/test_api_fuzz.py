"""Property-based fuzzing of every documented operation with schemathesis, against the real app.

Schemathesis reads ``/openapi.json`` from the app (WSGI, PostgreSQL, Redis) and sends requests
generated from it, valid and invalid; no response may be a server error, and responses must match
the document (status codes, content types, bodies). Bounded so the run stays well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest_api import issue_key

MAX_EXAMPLES = 6  # per operation and mode: the whole run stays well under a minute
# Left out: "a schema-valid request is accepted". The document cannot say that an upload must be an
# image, or that an id must name one of your rows; those are 400/404 answers with a reason.


def _fuzz(case_strategy: SearchStrategy[Case], headers: dict[str, str]) -> None:
    """Send ``MAX_EXAMPLES`` generated cases; the first failing check raises (shrunk by hypothesis)."""

    @given(case=case_strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    run()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # the production database only
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_with_a_server_error_or_off_the_document(api_app, mode):
    """Each operation in turn: valid requests (``positive``) and invalid ones (``negative``)."""
    headers = issue_key(api_app, "fuzz")
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api_app)
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        try:
            _fuzz(operation.as_strategy(mode), headers)
        except Unsatisfiable:  # nothing to get wrong: the operation takes no input at all
            assert mode == GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # collect them all: one report of every operation at fault
            failures[operation.label] = exc
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
