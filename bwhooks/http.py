"""The framework-free HTTP request and response that the core speaks."""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Union
from urllib.parse import parse_qsl

import attrs

from bwhooks.events._slots import slot_setter

__all__ = ["CallbackRequest", "CallbackResponse", "Headers", "HeadersInput", "is_secret_name"]

HeadersInput = Union[Mapping[str, str], Iterable[tuple[str, str]], "Headers"]


class CredentialHeaders(Container[str]):
    """Which header names carry credentials, by a rule rather than a list: ``name in
    CREDENTIAL_HEADERS`` (any case) is :func:`is_secret_name` for every name but the
    challenges ``WWW-Authenticate`` and ``Proxy-Authenticate``, which carry none:
    ``Authorization``, ``Cookie``, ``X-Api-Key``, ``X-Session-Id``, ``X-Pwd``, ``DPoP``,
    ``X-Amzn-Oidc-Data``, ``X-Bandwidth-Signature-SHA-256``..."""

    #: Parts of a name that make it a credential header, wherever they stand in it
    #: (``auth`` covers ``Authorization``, ``key`` ``X-ApiKey``).
    WORDS = (
        "auth",
        "cookie",
        "token",
        "secret",
        "key",
        "signature",
        "hmac",
        "password",
        "passwd",
        "passphrase",
        "passcode",
        "session",
        "credential",
        "csrf",
        "xsrf",
        "jwt",
    )
    #: Words of a name (split at ``-``, ``_``, ``.``, spaces and lower-to-upper case changes)
    #: that make it one: too short to be looked for inside other words (``pin`` is in
    #: ``Ping``, ``sig`` in ``Design``).
    WHOLE_WORDS = frozenset(
        {
            "pwd",
            "pw",
            "pass",
            "pin",
            "otp",
            "totp",
            "hotp",
            "mfa",
            "2fa",
            "dpop",
            "oidc",
            "saml",
            "sig",
            "sign",
            "cred",
            "creds",
            "sid",
            "bearer",
            "assertion",
            "ticket",
        }
    )
    #: Names that match a word but carry no credential: the challenges.
    SAFE = frozenset({"www-authenticate", "proxy-authenticate"})

    __slots__ = ()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return name.lower() not in self.SAFE and is_secret_name(name)

    def __repr__(self) -> str:
        return "CREDENTIAL_HEADERS"


_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")
_CASE_CHANGE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_secret_name(name: str) -> bool:
    """Whether ``name`` (a header, a query or form parameter, a JSON key) speaks of a
    secret: it holds one of :attr:`CredentialHeaders.WORDS` anywhere (any case), or one
    of its words is one of :attr:`CredentialHeaders.WHOLE_WORDS` (``X-Pwd``, ``userPin``,
    ``dpop``). The one rule for what bwhooks masks or leaves out."""
    key = name.lower()
    if any(word in key for word in CredentialHeaders.WORDS):
        return True
    words = _SEPARATORS.split(name)
    parts = [part for word in words for part in _CASE_CHANGE.split(word)]  # userPwd: pwd
    return any(word.lower() in CredentialHeaders.WHOLE_WORDS for word in (*words, *parts))


#: Header names that carry credentials (see :class:`CredentialHeaders`): never logged,
#: queued or recorded as they are.
CREDENTIAL_HEADERS = CredentialHeaders()
_SCHEMES = frozenset({"authorization", "proxy-authorization"})  # values: scheme credentials
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token: an auth-scheme


def url_for_display(url: str) -> str:
    """``url`` with the password of its ``user:pass@`` replaced by ``<masked>``: a URL for a
    message or a log line."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:<masked>@{host}{slash}{tail}"


def mask_credentials(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``headers`` with the value of each credential header (:data:`CREDENTIAL_HEADERS`)
    replaced by ``<masked>``; that of ``Authorization`` keeps its scheme (``Basic <masked>``)."""
    return tuple(
        (name, _masked(name, value) if name in CREDENTIAL_HEADERS else value)
        for name, value in headers
    )


def _masked(name: str, value: str) -> str:
    scheme, _, credentials = value.strip().partition(" ")
    if name.lower() in _SCHEMES and credentials and _TOKEN.fullmatch(scheme):
        return f"{scheme} <masked>"
    return "<masked>"


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive collection of HTTP header ``(name, value)`` pairs.

    As a mapping it gives the first value of each name (``dict(headers)`` works);
    :meth:`getlist` and :meth:`pairs` give every value. ``repr`` hides credentials.
    """

    __slots__ = ("_first", "_pairs")
    _pairs: tuple[tuple[str, str], ...]
    _first: dict[str, tuple[str, str]]

    def __init__(self, headers: HeadersInput = ()) -> None:
        if isinstance(headers, Headers):
            pairs: tuple[tuple[str, str], ...] = headers._pairs
        elif isinstance(headers, Mapping):
            pairs = tuple((str(k), str(v)) for k, v in headers.items())
        else:
            pairs = tuple((str(k), str(v)) for k, v in headers)
        first: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            first.setdefault(name.lower(), (name, value))
        self._pairs = pairs
        self._first = first

    @classmethod
    def from_server(cls, pairs: list[tuple[str, str]]) -> Headers:
        """Headers from a server's ``(lower-case name, value)`` str pairs, taken as they are
        (what the WSGI and ASGI adapters build: no conversion, no second pass)."""
        headers = cls.__new__(cls)
        headers._pairs = tuple(pairs)
        first: dict[str, tuple[str, str]] = {}
        for pair in pairs:
            if pair[0] not in first:
                first[pair[0]] = pair
        headers._first = first
        return headers

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()][1]

    def get(self, name: str, default: Any = None) -> Any:  # faster than Mapping.get
        """Return the first value of ``name`` (any case), or ``default``."""
        found = self._first.get(name.lower())
        return default if found is None else found[1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._first.values())

    def __len__(self) -> int:
        return len(self._first)

    def first_values(self) -> Mapping[str, tuple[str, str]]:
        """``{lower-case name: (name, first value)}``: the index behind lookups, read-only."""
        return self._first

    def getlist(self, name: str) -> list[str]:
        """Every value of ``name`` (any case), in order."""
        key = name.lower()
        return [value for n, value in self._pairs if n.lower() == key]

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """Every ``(name, value)`` pair, in order, duplicates included."""
        return self._pairs

    def __repr__(self) -> str:
        shown = [(n, "<redacted>" if n in CREDENTIAL_HEADERS else v) for n, v in self._pairs]
        return f"Headers({shown!r})"


def _to_headers(value: HeadersInput) -> Headers:
    return value if value.__class__ is Headers else Headers(value)


def _to_bytes(value: bytes | bytearray | memoryview | str) -> bytes:
    if value.__class__ is bytes:
        return value  # no copy: bytes are immutable
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _upper(method: str) -> str:
    return method if method in ("POST", "GET") else method.upper()


def _body_repr(body: bytes) -> str:
    return f"<{len(body)} bytes>"


@attrs.frozen
class CallbackRequest:
    """One HTTP request as the core sees it: method, path, headers, raw body bytes.

    ``query_string`` is the raw, still percent-encoded query; ``client`` is the peer
    address (``("203.0.113.9", 51234)``) when the adapter knows it.
    """

    method: str = attrs.field(converter=_upper)
    path: str
    headers: Headers = attrs.field(converter=_to_headers)
    body: bytes = attrs.field(converter=_to_bytes, repr=_body_repr)
    query_string: bytes = attrs.field(default=b"", converter=_to_bytes)
    client: tuple[str, int] | None = None

    @property
    def query(self) -> dict[str, str]:
        """The query string decoded as a form: the first value of each name."""
        pairs = parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True)
        query: dict[str, str] = {}
        for name, value in pairs:
            query.setdefault(name, value)
        return query


def _request_of(
    method: str,
    path: str,
    headers: Headers,
    body: bytes,
    *,
    query_string: bytes,
    client: tuple[str, int] | None,
) -> CallbackRequest:
    """A :class:`CallbackRequest` from parts a server gave: the converters run only on the
    parts that need them (the common request's parts all have their final types)."""
    if (
        (method != "POST" and method != "GET")  # noqa: PLR1714  (the common case first)
        or body.__class__ is not bytes
        or query_string.__class__ is not bytes
    ):
        return CallbackRequest(method, path, headers, body, query_string, client)
    request = _new(CallbackRequest)
    _set_method(request, method)
    _set_path(request, path)
    _set_headers(request, headers)
    _set_body(request, body)
    _set_query_string(request, query_string)
    _set_client(request, client)
    return request


_new = object.__new__
_set_method, _set_path, _set_headers, _set_body, _set_query_string, _set_client = (
    slot_setter(CallbackRequest, field.name) for field in attrs.fields(CallbackRequest)
)

_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_STATUS_LINES = {status: f"{status} {phrase}" for status, phrase in _PHRASES.items()}


@attrs.frozen
class CallbackResponse:
    """The answer to a callback: status, headers and body bytes.

    Build one with the helpers :meth:`empty`, :meth:`error` and :meth:`bxml`, or
    directly; a handler may return one to answer exactly that.
    """

    status: int
    headers: Headers = attrs.field(factory=Headers, converter=_to_headers)
    body: bytes = attrs.field(default=b"", converter=_to_bytes, repr=_body_repr)

    @property
    def status_line(self) -> str:
        """``"200 OK"``: the status as WSGI's ``start_response`` wants it."""
        return _STATUS_LINES.get(self.status) or f"{self.status} Unknown"

    @classmethod
    def empty(cls, status: int = 200) -> CallbackResponse:
        """A response without a body (a callback acknowledged)."""
        return _response(status, _EMPTY_HEADERS, b"")

    @classmethod
    def error(
        cls, status: int, reason: str, headers: Iterable[tuple[str, str]] = ()
    ) -> CallbackResponse:
        """A JSON error, ``{"error": reason}``: the body of every 4xx and 5xx answer."""
        body = json.dumps({"error": reason}).encode()
        return cls(status, Headers([("Content-Type", "application/json"), *headers]), body)

    @classmethod
    def bxml(cls, document: str | bytes) -> CallbackResponse:
        """A ``200`` carrying a BXML document (``application/xml``)."""
        return _response(
            200,
            _XML_HEADERS,
            document.encode() if document.__class__ is str else _to_bytes(document),
        )


def _response(status: int, headers: Headers, body: bytes) -> CallbackResponse:
    """A new response from parts that already have their types, without the converters'
    calls: filled as attrs fills a frozen instance (it is not shared yet)."""
    response: CallbackResponse = object.__new__(CallbackResponse)
    _SET_STATUS(response, status)
    _SET_HEADERS(response, headers)
    _SET_BODY(response, body)
    return response


_SET_STATUS = slot_setter(CallbackResponse, "status")
_SET_HEADERS = slot_setter(CallbackResponse, "headers")
_SET_BODY = slot_setter(CallbackResponse, "body")


_EMPTY_HEADERS = Headers()
_XML_HEADERS = Headers([("Content-Type", "application/xml; charset=utf-8")])


_DIGITS = re.compile(r"[0-9]+")


def framing_error(
    headers: Iterable[tuple[str, str]], version: str = "HTTP/1.1"
) -> tuple[int, str] | None:
    """Why a request's ``Content-Length`` and ``Transfer-Encoding`` headers do not say
    where its body ends beyond doubt (RFC 9112 §6), as ``(status, reason)``; ``None`` when
    they do. A request that carries both is the shape of request smuggling: refused, as is a
    chunked coding that is not the last, a ``Transfer-Encoding`` in HTTP/1.0 and a
    ``Content-Length`` that is no number or several different ones. The connection must be
    closed after the answer."""
    lengths: list[str] = []
    codings: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "content-length":
            lengths.extend(part.strip() for part in value.split(","))
        elif key == "transfer-encoding":
            codings.extend(part.strip().lower() for part in value.split(","))
    if codings:
        if lengths:
            return 400, "both Content-Length and Transfer-Encoding"
        if version == "HTTP/1.0" or codings[-1] != "chunked" or codings.count("chunked") > 1:
            return 400, "a Transfer-Encoding that does not end the body"
        if len(codings) > 1:
            return 501, "a transfer coding other than chunked"
    elif lengths and (len(set(lengths)) > 1 or not _DIGITS.fullmatch(lengths[0])):
        return 400, "an invalid Content-Length"
    return None


# RFC 9112 §3.2 (uri-host [":" port]): an IP literal, or a name of letters, digits, "-", ".",
# "_", "~" (sub-delims such as "," are refused: no host a client reaches us by has them).
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]*)(:[0-9]{0,5})?")


def request_error(
    method: str, hosts: Sequence[str], version: str = "HTTP/1.1", *, host_required: bool = True
) -> tuple[int, str] | None:
    """Why a request's ``method`` and ``Host`` headers (``hosts``, every value) are
    invalid, as ``(status, reason)``; ``None`` when they are not. A method that is no token
    (control or non-ASCII characters) and, RFC 9112 §3.2, several ``Host`` headers, an
    invalid one, or (``host_required``) none in HTTP/1.1 are each a ``400``: a proxy hop
    would vouch for such a host (``X-Forwarded-Host``) as one."""
    if not _TOKEN.fullmatch(method):  # RFC 9110 §9.1
        return 400, "an invalid method"
    if len(hosts) > 1:
        return 400, "several Host headers"
    if not hosts:
        required = host_required and version == "HTTP/1.1"
        return (400, "no Host header") if required else None
    if not _HOST.fullmatch(hosts[0].strip(" \t")):
        return 400, "an invalid Host header"
    return None
