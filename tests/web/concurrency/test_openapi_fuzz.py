"""Fuzz every operation of the OpenAPI document with schemathesis: no input yields a 5xx.

interfaces.md: "Errors are JSON ``{"detail": ...}`` with 4xx codes; never a 5xx for bad input."
Requests carry an admin token (every site visible), so generated input reaches the handlers and
services rather than stopping at authentication. Bounded: a few positive (schema-conforming)
and a few negative (schema-violating) examples per operation.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

pytestmark = pytest.mark.django_db
EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Stop the WSGI handler from closing the test's database connection after each request.

    Django closes a connection whose autocommit differs from its settings at request end; inside
    the test's transaction that is every connection, so (as Django's own test client does) the
    close-old-connections hook is detached while the fuzzer calls the raw WSGI application.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("keep_test_connection")
def test_no_generated_request_gets_a_server_error(trial: Any, screen: Any) -> None:
    """Positive and negative (schema-violating) requests to each operation answer < 500."""
    screen()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    headers = {"Authorization": f"Bearer {trial.tokens['admin']}"}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, "the OpenAPI document lost its operations"
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} query={case.query} "
                    f"body={case.body!r:.300} -> {response.status_code} {response.text[:300]}"
                )

        check()
    assert not failures, "\n".join(sorted(set(failures)))
    # Not a vacuous pass: requests got through authentication to the handlers.
    assert sum(n for status, n in statuses.items() if status < 300) > 0, statuses
    assert sum(n for status, n in statuses.items() if status in {400, 404, 409, 422}) > 0, statuses
