"""How a URL may be shown: with its user information (`user:token@`, `token@`) and the values of
its credential query parameters masked. Everything the project prints or records about a source, a
URI or a repository goes through here, and so does every user-facing error message."""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
# `scheme://` and the user information before the authority's last `@` (RFC 3986: `/`, `?` and `#`
# end the authority).
USER_INFO = re.compile(r"^(?P<scheme>[A-Za-z][\w+.-]*://)(?P<user_info>[^/?#]*)@")
# Query parameters that carry a credential: tokens, passwords, keys, and the signatures of signed
# URLs (S3's X-Amz-Signature and X-Amz-Credential, GCS's X-Goog-Signature, Azure SAS's `sig`).
SECRET_PARAMETER = re.compile(
    r"(?i)(?:^|[-_])(?:token|secret|password|passwd|pwd|sig|signature|credential|key|apikey)$"
)
QUERY_PARAMETER = re.compile(r"(?P<name>[^&;=#]+)=(?P<value>[^&;#]*)")
# A URL in a message ends before a quote or a space, and before the punctuation that follows it.
URL_IN_TEXT = re.compile(r"[A-Za-z][\w+.-]*://[^\s'\"<>`]*[^\s'\"<>`.,:;!?)\]]")


def redact_url(url: str) -> str:
    """`url` as it may be shown: `https://***@host/path?token=***`. What is not a URL (a local path)
    comes back as it is."""
    shown = USER_INFO.sub(rf"\g<scheme>{MASK}@", url, count=1)
    base, mark, rest = shown.partition("?")
    if not mark:
        return shown
    query, hash_mark, fragment = rest.partition("#")
    return base + mark + QUERY_PARAMETER.sub(_mask_secret_parameter, query) + hash_mark + fragment


def redact_text(text: str, *urls: str) -> str:
    """`text` (a message, a traceback) with every URL in it redacted, and the credentials of `urls`
    (the URLs a library was given) masked wherever the text repeats them on their own."""
    shown = URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    for secret in sorted({secret for url in urls for secret in _credentials(url)}, key=len, reverse=True):
        shown = shown.replace(secret, MASK)
    return shown


def _mask_secret_parameter(match: re.Match[str]) -> str:
    if SECRET_PARAMETER.search(unquote(match.group("name"))):
        return f"{match.group('name')}={MASK}"
    return match.group(0)


def _credentials(url: str) -> set[str]:
    """The secret parts of `url`, as written and percent-decoded: the password (or a user name that
    stands alone, as a token does, except over SSH, which signs in with a key) and the values of
    credential query parameters."""
    found: list[str] = []
    user_info = USER_INFO.match(url)
    if user_info:
        user, _, password = user_info.group("user_info").partition(":")
        ssh = "ssh" in user_info.group("scheme").lower()
        found.append(password or ("" if ssh else user))
    query = url.partition("?")[2].partition("#")[0]
    found += [
        match.group("value")
        for match in QUERY_PARAMETER.finditer(query)
        if SECRET_PARAMETER.search(unquote(match.group("name")))
    ]
    return {form for secret in found if secret for form in (secret, unquote(secret))}
