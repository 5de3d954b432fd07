"""Schemathesis hooks of test/contract/schemathesis.spec.ts (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis
from schemathesis.engine import observations


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


def _tolerate_unparsable_urls(same_origin_path):
    # Schemathesis (4.32.5, the latest) scans every string of a 2xx JSON answer for links to follow, and its urlsplit
    # raises on one such as "http://[x" (free text the API stored and answers back, valid under its schema), which
    # aborts the whole run as an internal error. Such a string is not a link: skip it.
    def tolerant(value, origin):
        try:
            return same_origin_path(value, origin)
        except ValueError:
            return None

    return tolerant


observations._same_origin_path = _tolerate_unparsable_urls(observations._same_origin_path)
