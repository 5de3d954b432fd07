"""Schemathesis hooks of test/contract/schemathesis.spec.ts (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis


def _has_proto_key(value):
    if isinstance(value, dict):
        return any(key == "__proto__" or _has_proto_key(child) for key, child in value.items())
    if isinstance(value, list):
        return any(_has_proto_key(item) for item in value)
    return False


@schemathesis.hook
def filter_body(context, body):
    # The body parser refuses a key named __proto__ at any depth (400 invalid_json), so that no receiver's JavaScript
    # ever gets one, as the document's description says; hypothesis draws "__proto__" among its usual strings, and
    # the document's schemas leave free-form values (under `data` and `actor`) to that description. Like strings with
    # NUL (generation.allow-x00), such bodies are not generated, rather than reported as valid data refused.
    return not _has_proto_key(body)
