"""Schemathesis hooks for tools/schemathesis.sh.

A generated Idempotency-Key shrinks to a handful of short values, so nearly every generated
order would reuse a key with another body and be refused with 409 before reaching intake.
Suffixing a valid key with a digest of the body keeps "same key and body" replays and makes
"another body" a new key, so generated orders are really placed. Invalid keys (negative
data) are sent unchanged.
"""

import hashlib
import json
import re

import schemathesis

VALID_KEY = re.compile(r"[!-~]{1,200}")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # Changed in place: replacing `case.headers` would drop what the case records about the
    # headers it deliberately leaves out (the missing-Authorization probes).
    # Negative cases are left alone: schemathesis revalidates a case a hook changed, and a
    # probe that deliberately omits Authorization would then be sent with it.
    if not case.headers or (case.meta is not None and case.meta.generation.mode.is_negative):
        return
    key = case.headers.get("Idempotency-Key")
    if not isinstance(key, str) or not VALID_KEY.fullmatch(key):
        return
    body = json.dumps(case.body, sort_keys=True, default=str) if case.body is not None else ""
    seed = (case.formatted_path + body).encode("utf-8", "surrogatepass")
    case.headers["Idempotency-Key"] = f"{key}.{hashlib.sha256(seed).hexdigest()[:16]}"
