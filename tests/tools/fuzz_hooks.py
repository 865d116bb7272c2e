"""Schemathesis hooks for the fuzz test (tests/it/fuzz.rs).

`error_envelope`: every answer of 400 or more must be the API's error envelope,
{"ok": false, "error": {"code": str, "message": str, ...}}.
`after_call`: appends "<status> <method> <path>" per request to $FUZZ_COUNT_FILE, so the
test can count the requests and show what was answered.
"""

import json
import os

import schemathesis


@schemathesis.check
def error_envelope(ctx, response, case):
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} answer is not JSON: {response.content[:200]!r}")
    error = body.get("error") if isinstance(body, dict) else None
    ok = (
        isinstance(body, dict)
        and body.get("ok") is False
        and isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )
    if not ok:
        raise AssertionError(f"{response.status_code} answer outside the error envelope: {str(body)[:300]}")
    return None


@schemathesis.hook
def after_call(context, case, response):
    path = os.environ.get("FUZZ_COUNT_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(f"{response.status_code} {case.method} {case.path}\n")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """A followed pod log streams until the pod ends, as `kubectl logs -f` does: the fuzzer
    would wait for it forever, so it asks without follow (tests/it/system_reads.rs follows)."""
    if case.path.endswith("/k8s/logs") and isinstance(case.query, dict):
        case.query.pop("follow", None)
