"""Recorded deliveries as regression fixtures, with personal data and secrets replaced.

``bwhooks export FILE DIR`` writes one JSON fixture per chosen delivery: the request (method,
path, query, content type, body) and the answer it got (status, content type, body). The
sender wrote the request, so it is scrubbed by default: a string is kept only under a key
known to hold structure (``eventType``, ``callState``, timestamps, the ids Bandwidth
generates, ...) and only when it has that shape; every other string, in a JSON body, a query
string or a form body, is replaced by a placeholder of its shape: a phone number by a
fictional number written the same way (``+1555010000N``), an e-mail by ``userN@example.com``,
digits (keypad input, PINs) by as many digits, a SIP address by ``sip:userN@host``, an
account id by ``9000000N``, a URL by the same URL with its credentials dropped and its
parts scrubbed, anything else by ``<text N>``. Answers, which the app wrote, keep their
words: in BXML (element text and attributes) and other text, every value collected from the
requests is replaced wherever it appears, and so is whatever is shaped like a phone number
(E.164, 10 digits, ``+1 (919) 555-0199``, percent-encoded ``%2B1919...``), an e-mail, a SIP
address, a number of four digits or more, a credential in a URL or a secret-looking
parameter. BXML attributes are kept only when they shape the call (``voice``, ``maxDigits``,
...; URLs are scrubbed as text), the others (``username``, ``password``, ``tag``, ``uui``,
...) are replaced whole, and so is the text of ``<Conference>`` and ``<Tag>``; BXML is
written again from the scrubbed tree (comments and namespace declarations dropped), never
as it was when anything could hide outside the tree. A part nested deeper than a scrub
follows is replaced whole. Bodies are read as the receiver reads them (UTF-8, or UTF-16/32
by BOM or NULs; an answer also by its ``charset``) and written back in that encoding; one
that does not decode to text the scrub can read is replaced whole.

Values are collected over every delivery before any is written (:meth:`Scrubber.collect`),
so a name or number first seen in a later delivery is replaced in an earlier one too, and
the same value always gets the same placeholder, in bodies and answers alike. The pytest
plugin's ``bw_replay`` delivers a fixture to your app through
:class:`~bwhooks.testing.CallbackClient` and checks that the answer is the one recorded (BXML
compared as XML).
"""

from __future__ import annotations

import codecs
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit
from xml.etree import ElementTree

from bwhooks.devtools.recording import Delivery
from bwhooks.testing.recorded import FIXTURE_VERSION, Fixture, load_fixture

__all__ = ["FIXTURE_VERSION", "Fixture", "Scrubber", "fixture_of", "load_fixture", "write_fixtures"]


# -- what is known to be safe: keys whose values are structure, when they have its shape ----
# An enumeration's value is a word (``answer``, ``TN-Validation-Passed``, ``mp3``): a letter
# first, no run of digits (``*67+1919...``, ``pin-4242-jane`` are no state or cause).
_ENUM = re.compile(r"(?![^0-9]*[0-9]{2})(?:[A-Za-z][A-Za-z0-9_.:-]{0,63})?")
_COUNT = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,6})?")  # a count, a code, a confidence
_DIGIT = re.compile(r"[0-9*#]?")
_TOKEN = re.compile(r"[A-Za-z0-9_.:#*+-]{0,64}")  # a BXML attribute the app wrote
_TIME = re.compile(r"[0-9][0-9TZ:.+-]{3,39}|-?P[0-9YMWDTHS.]{1,40}")
_ID = re.compile(r"[A-Za-z0-9_.:{}-]{1,128}")
_ID_CHARS = re.compile(r"[A-Za-z0-9_.:{}-]*")
_IDS = re.compile(r"[A-Za-z0-9_.:{},-]{0,4096}")


def _shaped(shape: re.Pattern[str], names: str) -> dict[str, re.Pattern[str]]:
    return dict.fromkeys(names.split(), shape)


_SAFE_KEYS = {
    **_shaped(
        _ENUM,
        "eventType type callState state status direction cause reason deliveryState tracks"
        " fileFormat priority referCallStatus channel verstat attestationIndicator privacy"
        " screen stabilized hold mute speaker withholdCallerName withholdCallerNumber",
    ),
    **_shaped(
        _COUNT,
        "deliveryCode errorCode channels segmentCount activeMembers textSize sipResponseCode"
        " referSipResponseCode notifySipResponseCode counter limit confidence",
    ),
    "terminatingDigit": _DIGIT,
    **_shaped(
        _TIME,
        "time eventTime startTime enqueuedTime answerTime endTime completedTime completeTime"
        " createdTime lastUpdate duration dtmfDuration",
    ),
    **_shaped(
        _ID,
        "callId parentCallId messageId applicationId conferenceId memberId recordingId"
        " transcriptionId errorId gatherId id pairedMessageId originatingId sipCallId",
    ),
}
_SAFE_NESTED = {("machineDetectionResult", "value"): _ENUM}
_ACCOUNT_KEYS = frozenset({"accountId", "userId"})
# BXML attributes that shape the call, not the people on it (kept when they have the shape).
_SAFE_ATTRIBUTES = {
    **_shaped(
        _TOKEN,
        "voice locale gender terminatingDigits maxDigits interDigitTimeout firstDigitTimeout"
        " repeatCount callTimeout callbackTimeout diversionTreatment diversionReason maxDuration"
        " silenceTimeout fileFormat transcribe detectLanguage multiChannel duration answerCall"
        " toneDuration toneInterval mute hold tracks mode stabilized bargeable",
    ),
    "callIdsToCoach": _IDS,
}
# Values that name no one (a withheld caller, a flag written as text): kept under any key.
_KEPT_WORDS = frozenset(
    {"", "anonymous", "private", "restricted", "unavailable", "unknown", "true", "false", "null"}
)
_SECRET_NAME = re.compile(
    r"pass|pw|secret|token|key|auth|sig|cred|session|cookie|otp|pin|code|jwt|hmac|nonce", re.I
)

# -- what personal data and secrets look like inside text -------------------------------------
_SEP = "[ .\u00a0\u2007\u202f\u2010-\u2015\u2212-]"  # also no-break spaces, Unicode hyphens
_PHONE = (
    r"(?<![\w+])(?:\+[1-9]\d{6,14}"
    rf"|(?:\+?1{_SEP}?)?(?:\([2-9]\d{{2}}\)|[2-9]\d{{2}}){_SEP}?\d{{3}}{_SEP}?\d{{4}}"
    rf"|\+\d{{1,3}}(?:{_SEP}\(?\d{{1,5}}\)?|\(\d{{1,5}}\)){{1,6}}"
    r"|\d{10,15})(?!\w)"
)
_URL = (  # with a scheme, or scheme-relative (``//user:pass@host/``)
    r"(?:(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://|(?<![\w:/.+-])//(?=[^\s/]))"
    r"[^\s<>\"'`{}|\\^]+"
)
_SIP = r"(?<![A-Za-z0-9])(?:sips?|tel):[^\s<>\"'`,;]+"
_EMAIL = r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"  # any script
_PARAM = (  # name=value, name: value, name: Basic value
    r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+\s*[=:]\s*(?:(?:basic|bearer|digest)\s+)?"
    r"(?:\"[^\"]*\"|'[^']*'|[^&\s\"'<>;,]+)"
)
_AUTHORIZATION = (  # a credential, not prose: it holds a digit, +/= or a lower-upper pair
    r"(?<![A-Za-z0-9])(?:basic|bearer)\s+"
    r"(?-i:(?=[A-Za-z0-9+/=._~-]*(?:[0-9+/=]|[a-z][A-Z])))[A-Za-z0-9+/=._~-]{8,}"
)
_ENCODED = (  # a run of URL characters holding a percent-encoded one
    r"(?<![A-Za-z0-9._~%+()!*-])(?=[A-Za-z0-9._~+()!*-]*%[0-9A-Fa-f]{2})[A-Za-z0-9._~%+()!*-]+"
)
_DIGITS = r"(?<![A-Za-z0-9])\d{4,}(?![A-Za-z0-9])"
_JWT = r"(?<![\w-])eyJ[\w-]{2,}\.[\w-]+\.[\w-]*"  # a bare JSON Web Token (or JWS)
_PHONE_FULL = re.compile(_PHONE)
_EMAIL_FULL = re.compile(_EMAIL)
_SIP_FULL = re.compile(_SIP, re.I)
_URL_FULL = re.compile(_URL)
_DIGITS_FULL = re.compile(r"[0-9*#]*[0-9][0-9*#]*")
_WORD = re.compile(r"[a-z]+|v\d{1,2}(?:beta\d*)?")  # a path segment that names, not a value
# Collected values of these kinds and lengths are also replaced inside other text.
_LITERAL_KINDS = frozenset({"text", "account", "user"})
_LITERAL_LENGTHS = (4, 1000)
_MAX_DEPTH = 8  # text inside text (decoded, a URL in a URL) scanned this deep, then replaced
_DOCTYPE = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.I)
_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>\s*")
_UNSEEN = re.compile(r"<!--|<\?|xmlns", re.I)  # in XML, what its tree does not show
_REPLACED_ELEMENTS = frozenset({"Conference", "Tag"})  # BXML text that names, not words
_MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w.-]+=(?:[\w.-]+|\"[\w .-]*\"))*")
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


_STRUCTURED = re.compile(
    "|".join(
        f"(?P<{name}>{regex})"
        for name, regex in (
            ("url", _URL),
            ("sip", _SIP),
            ("email", _EMAIL),
            ("secret", _AUTHORIZATION),
            ("jwt", _JWT),
            ("param", _PARAM),
        )
    ),
    re.I,
)
# After values collected from other deliveries: numbers, digit runs, percent-encoded text.
_LOOSE = re.compile(
    rf"(?P<phone>{_PHONE})|(?P<run>\d{{7,}})|(?P<encoded>{_ENCODED})|(?P<digits>{_DIGITS})"
)
_UNIT = re.compile(r"[a-z0-9]+|\s+|[^a-z0-9\s]")  # the words collected values are made of


def _canonical_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return "1" + digits if len(digits) == 10 and digits[0] in "23456789" else digits


def _written_like(original: str, digits: str) -> str:
    """``digits`` written the way ``original`` writes its own (separators, ``+``)."""
    count = sum(char.isdigit() for char in original)
    if count not in (len(digits), len(digits) - 1):
        return ("+" if original.lstrip().startswith("+") else "") + digits
    fill = iter(digits[len(digits) - count :])
    return re.sub(r"\d", lambda _: next(fill), original)


class _Placeholders:
    """The placeholder of each value, by kind; the values also searched for inside text."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}
        self.counts: dict[str, int] = {}
        self.literals: dict[str, str] = {}  # a lower-case value -> its placeholder
        self.trie: dict[str, Any] = {}  # the same values, word by word ("" ends one)
        self.national: dict[str, str] = {}  # a number's last 10 digits -> its placeholder's
        self.ids: set[str] = set()  # ids Bandwidth generated (kept, also inside URLs)
        self.changed = False

    def get(self, kind: str, value: str) -> str:
        key = _canonical_phone(value) if kind == "phone" else value.casefold()
        found = self.seen.get((kind, key))
        if found is None:
            number = self.counts[kind] = self.counts.get(kind, 0) + 1
            found = self.seen[(kind, key)] = _format(kind, number, value)
            self.changed = True
            if kind == "phone" and len(key) >= 10:
                self.national.setdefault(key[-10:], found[-10:])
            elif (
                kind in _LITERAL_KINDS and _LITERAL_LENGTHS[0] <= len(value) <= _LITERAL_LENGTHS[1]
            ):
                self._searched(value.lower(), found)
        return found

    def _searched(self, literal: str, placeholder: str) -> None:
        units = _UNIT.findall(literal)
        if not units or literal in self.literals:
            return
        self.literals[literal] = placeholder
        node = self.trie
        for unit in units:
            node = node.setdefault(unit, {})
        node[""] = placeholder

    def spans(self, text: str) -> Iterable[tuple[int, int, str]]:
        """Where collected values stand in ``text`` (whole words, the longest first)."""
        lowered = text.lower()
        units = [(m.start(), m.end(), m.group()) for m in _UNIT.finditer(lowered)]
        if len(lowered) != len(text):  # a letter whose lower case is longer: exact case only
            units = [(m.start(), m.end(), m.group()) for m in _UNIT.finditer(text)]
        i = 0
        while i < len(units):
            node: Any = self.trie
            longest = None
            for j in range(i, len(units)):
                node = node.get(units[j][2])
                if node is None:
                    break
                if "" in node:
                    longest = (j + 1, node[""])
            if longest is None:
                i += 1
                continue
            yield units[i][0], units[longest[0] - 1][1], longest[1]
            i = longest[0]

    def known_numbers(self, digits: str) -> str:
        """``digits`` with every number seen replaced where it stands inside them."""
        national, i = self.national, 0
        while i <= len(digits) - 10:
            found = national.get(digits[i : i + 10])
            if found is not None:
                digits = digits[:i] + found + digits[i + 10 :]
                i += 10
            else:
                i += 1
        return digits


def _format(kind: str, number: int, value: str) -> str:
    if kind == "phone":
        return f"+1555{100000 + number:07d}"
    if kind == "account":
        return f"{90000000 + number}"
    if kind == "digits":
        width = sum(char.isdigit() for char in value)
        fill = iter(f"{number:0{width}d}")
        written = re.sub(r"\d", lambda _: next(fill, ""), value)
        return written + "".join(fill)
    if kind == "email":
        return f"user{number}@example.com"
    if kind == "user":
        return f"user{number}"
    return f"<{kind} {number}>"


class Scrubber:
    """Replaces personal data and secrets by placeholders, the same value by the same one.

    Call :meth:`collect` with every delivery first, then :meth:`fixture` for each: values
    found anywhere are then replaced everywhere, whatever the order of the deliveries.
    """

    def __init__(self) -> None:
        self._names = _Placeholders()
        self._collecting = False
        self._depth = 0

    def collect(self, deliveries: Iterable[Delivery]) -> bool:
        """Find the values to replace in ``deliveries`` (the first pass); whether any was new."""
        self._collecting, self._names.changed = True, False
        try:
            for delivery in deliveries:
                self.fixture(delivery)
        finally:
            self._collecting = False
        return self._names.changed

    def fixture(self, delivery: Delivery) -> Fixture:
        """The fixture of ``delivery``, scrubbed (with the values collected so far)."""
        headers = {n.lower(): v for n, v in delivery.headers}
        answer_headers = {n.lower(): v for n, v in delivery.response_headers}
        content_type = _media_type(headers.get("content-type", "application/json"))
        answer_type = _media_type(answer_headers.get("content-type", ""))
        path, query = delivery.path, delivery.query
        body, body_encoding = self._body(delivery.body, content_type, strict=True)
        answer, answer_encoding = self._body(delivery.response_body, answer_type, strict=False)
        return Fixture(
            id=delivery.id,
            method=re.sub(r"[^A-Z]", "", delivery.method.upper())[:16] or "GET",
            path=self._guarded(
                lambda: "/".join(self._segments(path.split("/"), strict=True)),
                path,
                lambda placeholder: "/" + quote(placeholder),
            ),
            query=self._guarded(lambda: self._query(query, strict=True), query, quote_plus),
            content_type=content_type,
            body=body,
            status=delivery.status,
            answer_content_type=answer_type,
            answer=answer,
            event_types=tuple(
                str(self.value("eventType", str(e.get("event_type"))))
                for e in delivery.events or ()
            ),
            body_encoding=body_encoding,
            answer_encoding=answer_encoding,
        )

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of ``value``: a ``phone``, ``account``, ``digits``, ``email``,
        ``user`` (of a SIP address) or ``text`` (any other kind is written ``<kind N>``)."""
        return self._names.get(kind, value)

    def value(self, key: str, value: Any, parent: str = "") -> Any:
        """``value`` under ``key`` (in an object under ``parent``), scrubbed all the way down:
        kept only under a key known to be safe and in its shape, else replaced."""
        if isinstance(value, Mapping):
            self._known_ids(value.items())
            return {self._key(str(k)): self.value(str(k), v, key) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, item, parent) for item in value]
        shape = _SAFE_NESTED.get((parent, key)) or _SAFE_KEYS.get(key)
        if value is None or isinstance(value, bool) or (shape and not isinstance(value, str)):
            return value
        if isinstance(value, int):  # a number stays a number, of as many digits
            digits = str(abs(value))
            new = self._phone(digits) if _PHONE_FULL.fullmatch(digits) else digits
            return int(self.placeholder("digits", digits) if new == digits else new)
        if isinstance(value, float):
            return 0.0
        if not isinstance(value, str):
            return value
        if key in _ACCOUNT_KEYS:
            return self.placeholder("account", value)
        if self._is_shaped(value, shape):
            return value
        return self._replacement(value)

    def text(self, text: str) -> str:
        """``text`` (an answer, a URL) with what looks personal or secret replaced: the values
        collected, numbers, e-mails, SIP addresses, credentials and secret parameters."""
        return self._scan(text, strict=False, values=True)

    # -- the parts of a delivery ------------------------------------------------------------

    def _body(self, raw: bytes, content_type: str, *, strict: bool) -> tuple[bytes, str]:
        """A body scrubbed, written back in its encoding (and that encoding): a request's
        read as the receiver reads it (UTF-8, or UTF-16/32 by BOM or by its NULs), an
        answer's also by its ``charset``; one that does not decode is replaced whole."""
        if not raw.strip():
            return raw, "utf-8"
        decoded = _decoded(raw, None if strict else _charset(content_type))
        if decoded is None:
            return self.placeholder("text", raw.decode("latin-1")).encode(), "utf-8"
        text, encoding = decoded
        scrubbed = self._guarded(lambda: self._document(text, content_type, strict=strict), text)
        try:
            return scrubbed.encode(encoding), encoding
        except UnicodeEncodeError:
            return scrubbed.encode(), "utf-8"

    def _guarded(
        self, scrub: Callable[[], str], original: str, written: Callable[[str], str] = str
    ) -> str:
        """``scrub()``, or a placeholder for all of ``original`` (``written`` as its place
        needs) if it is nested deeper than a scrub can follow."""
        try:
            return scrub()
        except RecursionError:
            return written(self.placeholder("text", original))

    def _document(self, text: str, content_type: str, *, strict: bool) -> str:
        start = text.lstrip()[:1]
        try:
            if start in ("{", "["):
                try:
                    payload = json.loads(text)
                except ValueError:
                    pass
                else:
                    scrubbed = self.value("", payload)
                    if not strict and scrubbed == payload:
                        return text
                    return json.dumps(scrubbed, indent=2)
            if content_type.startswith("application/x-www-form-urlencoded") or (
                strict and re.fullmatch(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*", text.strip())
            ):
                return self._query(text, strict=strict)
            if start == "<":
                document = self._xml(text, strict=strict)
                if document is not None:
                    return document
        except RecursionError:  # nesting deeper than a scrub can follow: scrubbed as text
            pass
        return self._text_strict(text) if strict else self.text(text)

    def _xml(self, text: str, *, strict: bool) -> str | None:
        scrub = self._text_strict if strict else self.text
        return _xml(text, scrub, self._attribute, self._replacement)

    def _attribute(self, name: str, value: str) -> str:
        if name.casefold().endswith("url") or name == "destination":
            return self.text(value)
        shape = _SAFE_ATTRIBUTES.get(name) or (_ENUM if name.endswith("Method") else None)
        if self._is_shaped(value, shape):
            return value
        return self._replacement(value)

    def _query(self, query: str, *, strict: bool, in_url: bool = False) -> str:
        """A query string (or form body), each pair scrubbed; pairs left as they were are
        kept byte for byte. In a URL the sender wrote, no name vouches for its value."""
        if strict and not in_url:  # ids in a URL the sender wrote are no known ids
            self._known_ids(pair.partition("=")[::2] for pair in query.split("&"))
        pieces = []
        for raw in query.split("&"):
            raw_name, equals, raw_value = raw.partition("=")
            name, value = unquote_plus(raw_name), unquote_plus(raw_value)
            if not equals:
                name, value = "", name
            new_name = self._key(name)
            if strict and in_url:
                new_value = value if value in self._names.ids else self._replacement(value)
            elif strict:
                new_value = str(self.value(name, value))
            elif value and _SECRET_NAME.search(name):
                new_value = self.placeholder("text", value)
            else:
                new_value = self.text(value)
            if (new_name, new_value) == (name, value):
                pieces.append(raw)
            elif equals:
                pieces.append(f"{quote_plus(new_name)}={quote_plus(new_value)}")
            else:
                pieces.append(quote_plus(new_value))
        return "&".join(pieces)

    def _segments(self, segments: list[str], *, strict: bool) -> list[str]:
        """Path segments, scrubbed: from the sender, only words and known ids are kept."""
        scrubbed, previous = [], ""
        for raw in segments:
            segment = unquote(raw)
            if not strict:
                new = self.text(segment)
            elif not segment or _WORD.fullmatch(segment) or segment in self._names.ids:
                new = segment
            elif previous.casefold() in ("users", "accounts"):
                new = self.placeholder("account", segment)
            else:
                new = self._replacement(segment)
            scrubbed.append(raw if new == segment else quote(new, safe="+@:"))
            previous = segment
        return scrubbed

    def _url(self, text: str, *, strict: bool) -> str:
        core = text.rstrip(".,;:!?)]'")
        try:
            parts = urlsplit(core)
            parts.port  # noqa: B018  (a port that is no number raises here)
        except ValueError:
            return self._replacement(text)
        credentials, at, host = parts.netloc.rpartition("@")
        if at:  # dropped; collected, so they are replaced wherever else they appear
            for credential in unquote(credentials).split(":", 1):
                if credential:
                    self.placeholder("text", credential)
        path = "/".join(self._segments(parts.path.split("/"), strict=strict))
        fragment = self._replacement(parts.fragment) if strict else self.text(parts.fragment)
        query = self._query(parts.query, strict=strict, in_url=True) if parts.query else ""
        url = urlunsplit((parts.scheme.lower(), host, path, query, fragment if fragment else ""))
        return url + text[len(core) :]

    def _sip(self, text: str) -> str:
        scheme, _, address = text.partition(":")
        user, at, host = address.rpartition("@")
        if not at:  # tel:+1919..., or a SIP host alone
            return f"{scheme}:{self._replacement(unquote(address))}"
        user = unquote(user)
        phone = _PHONE_FULL.fullmatch(user)
        new_user = self._phone(user) if phone else self.placeholder("user", user)
        return f"{scheme}:{new_user}@{self._key(host)}"

    def _is_shaped(self, value: str, shape: re.Pattern[str] | None) -> bool:
        """Whether ``value`` has the shape of a safe key's values and holds nothing personal."""
        return bool(shape and shape.fullmatch(value)) and self._key(value) == value

    def _known_ids(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Remember the ids among ``pairs`` first: they are kept inside URLs beside them."""
        for key, value in pairs:
            if _SAFE_KEYS.get(key) is _ID and isinstance(value, str) and _ID.fullmatch(value):
                self._names.ids.add(value)

    def _phone(self, text: str) -> str:
        return _written_like(text, self.placeholder("phone", text)[1:])

    def _key(self, key: str) -> str:
        return self._scan(key, strict=True, values=False)

    def _text_strict(self, text: str) -> str:
        """Text the sender wrote where no key says what it is: scrubbed by what it holds."""
        return self._scan(text, strict=True, values=True)

    def _replacement(self, value: str) -> str:
        """The placeholder of a value no key vouches for, of its shape."""
        core = value.strip()
        if core.casefold() in _KEPT_WORDS:
            return value
        if _PHONE_FULL.fullmatch(core):
            new = self._phone(core)
        elif _EMAIL_FULL.fullmatch(core):
            new = self.placeholder("email", core)
        elif _SIP_FULL.fullmatch(core):
            new = self._sip(core)
        elif _URL_FULL.fullmatch(core):
            new = self._url(core, strict=True)
        elif _DIGITS_FULL.fullmatch(core):
            new = self.placeholder("digits", core)
        elif core[:1] in ("{", "[") and (document := _json(core)) is not None:
            new = json.dumps(self.value("", document))
        else:
            if self._collecting:  # what it holds is replaced wherever else it appears
                self._text_strict(core)
            new = self.placeholder("text", core)
        return value.replace(core, new, 1)

    def _scan(self, text: str, *, strict: bool, values: bool) -> str:
        """``text`` with what looks personal or secret replaced: URLs, SIP addresses, e-mails
        and credentials first, then (with ``values``) the values collected, then numbers."""
        if self._depth >= _MAX_DEPTH:
            return self.placeholder("text", text) if text.strip() else text
        self._depth += 1
        try:
            pieces, done = [], 0
            for match in _STRUCTURED.finditer(text):
                pieces.append(self._loose(text[done : match.start()], strict=strict, values=values))
                pieces.append(self._structured(match, strict=strict, values=values))
                done = match.end()
            pieces.append(self._loose(text[done:], strict=strict, values=values))
            return "".join(pieces)
        finally:
            self._depth -= 1

    def _structured(self, match: re.Match[str], *, strict: bool, values: bool) -> str:
        text, kind = match.group(), match.lastgroup
        if kind == "url":
            return self._url(text, strict=strict)
        if kind == "sip":
            return self._sip(text)
        if kind == "email":
            return self.placeholder("email", text)
        if kind == "jwt":
            return self.placeholder("text", text)
        if kind == "param":  # name=value, name: value
            name, separator, value = re.split(r"(\s*[=:]\s*)", text, maxsplit=1)
            if _SECRET_NAME.search(name):
                value = self.placeholder("text", value)
            else:
                value = self._scan(value, strict=strict, values=values)
            return self._loose(name, strict=strict, values=values) + separator + value
        scheme = text.split(None, 1)[0]  # an Authorization value: Basic or Bearer
        return f"{scheme} {self.placeholder('text', text[len(scheme) :].strip())}"

    def _loose(self, text: str, *, strict: bool, values: bool) -> str:
        def found(match: re.Match[str]) -> str:
            return self._loosely_found(match, strict=strict, values=values)

        if not values:
            return _LOOSE.sub(found, text)
        pieces: list[str] = []
        done = 0
        for start, end, placeholder in self._names.spans(text):
            pieces += (_LOOSE.sub(found, text[done:start]), placeholder)
            done = end
        pieces.append(_LOOSE.sub(found, text[done:]))
        return "".join(pieces)

    def _loosely_found(self, match: re.Match[str], *, strict: bool, values: bool) -> str:
        text, kind = match.group(), match.lastgroup
        if kind == "phone":
            return self._phone(text)
        if kind == "encoded":
            decoded = unquote_plus(text)
            scrubbed = self._scan(decoded, strict=strict, values=values)
            return text if scrubbed == decoded else quote_plus(scrubbed, safe="@:/")
        if kind == "run":  # seven digits or more, even glued to letters (rec19195550158.wav)
            known = self._names.known_numbers(text)
            if known != text or not values or _token(match) in self._names.ids:
                return known  # a number seen elsewhere by its placeholder; an id kept
        return self.placeholder("digits", text) if values else text


def _token(match: re.Match[str]) -> str:
    """The run of id characters the match stands in (an id Bandwidth generated, maybe), or
    ``""`` if it is longer than an id can be."""
    text, start, end = match.string, match.start(), match.end()
    before = _ID_CHARS.match(text[max(0, start - 129) : start][::-1])
    after = _ID_CHARS.match(text, end, end + 129)
    start -= len(before.group()) if before else 0
    end += len(after.group()) if after else 0
    return text[start:end] if end - start <= 128 else ""


def _xml(
    text: str,
    scrub_text: Callable[[str], str],
    scrub_attribute: Callable[[str, str], str],
    replace: Callable[[str], str],
) -> str | None:
    """An XML document (BXML) with its text, attributes and namespaces scrubbed (the text of
    a ``<Conference>`` or ``<Tag>`` replaced whole), written from the scrubbed tree: comments
    and processing instructions are dropped. Byte for byte the same when nothing changed and
    nothing the tree does not show (a comment, an instruction, a namespace declaration) is
    there; ``None`` if it is no XML (or declares entities: never expanded)."""
    if _DOCTYPE.search(text):
        return None
    try:
        # Instructions inside the root stay (scrubbed): canonical XML, as bw_replay compares
        # answers, keeps them. No DOCTYPE: nothing to expand.
        parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder(insert_pis=True))  # noqa: S314
        parser.feed(text)
        root = parser.close()
    except (ElementTree.ParseError, ValueError):
        return None
    declaration = _DECLARATION.match(text)
    prologue = declaration.group(0) if declaration else ""
    scrubbed_prologue = scrub_text(prologue)  # its encoding name is free text, for expat
    changed = scrubbed_prologue != prologue or bool(_UNSEEN.search(text, len(prologue)))
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            new_name, scrubbed = _namespaced(name, scrub_text), scrub_attribute(name, value)
            if (new_name, scrubbed) != (name, value):
                changed = True
                del element.attrib[name]
                element.set(new_name, scrubbed)
        tag = element.tag
        if isinstance(tag, str):  # not an instruction
            new_tag = _namespaced(tag, scrub_text)
            changed |= new_tag != tag
            tag = element.tag = new_tag
        whole = isinstance(tag, str) and tag.rpartition("}")[2] in _REPLACED_ELEMENTS
        for part in ("text", "tail"):
            value = getattr(element, part)
            if value and value.strip():
                scrubbed = replace(value) if whole and part == "text" else scrub_text(value)
                changed |= scrubbed != value
                setattr(element, part, scrubbed)
    if not changed:
        return text
    return scrubbed_prologue + ElementTree.tostring(root, encoding="unicode")


def _namespaced(name: str, scrub: Callable[[str], str]) -> str:
    """A tag or attribute name with its namespace (a URI, maybe with credentials) scrubbed."""
    if not name.startswith("{"):
        return name
    namespace, _, local = name[1:].partition("}")
    return f"{{{scrub(namespace)}}}{local}"


def _charset(content_type: str) -> str | None:
    found = re.search(r";\s*charset=\"?([\w.:-]+)", content_type, re.I)
    return found.group(1) if found else None


def _decoded(raw: bytes, charset: str | None) -> tuple[str, str] | None:
    """``raw`` decoded, and the name of its encoding: by its BOM, else by ``charset``, else
    as ``json`` detects it (UTF-8, or UTF-16/32 by where its NULs are); ``None`` if that
    encoding is unknown or no text encoding, or the bytes are not in it."""
    boms = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    encoding = json.detect_encoding(raw) if charset is None or raw.startswith(boms) else charset
    try:
        encoding = codecs.lookup(encoding).name
        text = raw.decode(encoding)
        ascii_compatible = "<a1 =&".encode(encoding).endswith(b"<a1 =&")
    except (LookupError, UnicodeError):
        return None
    if not ascii_compatible and _json(text) is None and not _is_xml(text):
        return None  # UTF-16 that is no document is text in another encoding, unread
    return text, encoding


def _is_xml(text: str) -> bool:
    if not text.lstrip().startswith("<") or _DOCTYPE.search(text):
        return False
    try:
        ElementTree.fromstring(text)  # noqa: S314  (no DOCTYPE: nothing to expand)
    except (ElementTree.ParseError, ValueError):
        return False
    return True


def _json(text: str) -> Any:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict | list) else None


def _media_type(value: str) -> str:
    value = value.strip()
    if not value or _MEDIA_TYPE.fullmatch(value):
        return value
    essence = value.split(";", 1)[0].strip()
    return essence if _MEDIA_TYPE.fullmatch(essence) else "application/octet-stream"


def fixture_of(delivery: Delivery, scrubber: Scrubber) -> Fixture:
    """The fixture of a recorded delivery, scrubbed with ``scrubber`` (which collects this
    delivery's values first; collect every delivery beforehand to replace values found in
    others too, as :func:`write_fixtures` does)."""
    scrubber.collect((delivery,))
    return scrubber.fixture(delivery)


def write_fixtures(deliveries: Iterable[Delivery], directory: str | Path) -> list[Path]:
    """Write a fixture file per delivery into ``directory``; returns the paths written.

    The deliveries are read twice (an iterator is read into a list first): every value is
    collected before any file is written, so one scrubber replaces the same value by the same
    placeholder in every file, whatever the order. File names are the delivery's id and its
    event types as a safe slug (no ``/``, ``..``, NUL or control character, 80 characters at
    most), unique in the directory; files are created readable by their owner only, never
    through a symbolic link (an existing file or link of that name is replaced).
    """
    if iter(deliveries) is deliveries:
        deliveries = list(deliveries)
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    scrubber = Scrubber()
    for _ in range(3):  # until no pass finds a new value (the second, in practice)
        if not scrubber.collect(deliveries):
            break
    written, names = [], set[str]()
    for delivery in deliveries:
        fixture = scrubber.fixture(delivery)
        path = folder / _file_name(fixture, names)
        _write_private(path, json.dumps(_document(fixture), indent=2) + "\n")
        written.append(path)
    return written


def _file_name(fixture: Fixture, taken: set[str]) -> str:
    """``00012-answer.json``: the id and a slug of the event types, unique among ``taken``."""
    slug = _SLUG.sub("_", "-".join(fixture.event_types)).strip("_-")[:80] or "delivery"
    stem = f"{fixture.id:05d}-{slug}"
    name, n = f"{stem}.json", 1
    while name.casefold() in taken:
        n += 1
        name = f"{stem}-{n}.json"
    taken.add(name.casefold())
    return name


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new owner-only file, then move it to ``path`` (replacing a file or
    a link there, never writing through one)."""
    descriptor, temporary = tempfile.mkstemp(prefix=".bwhooks-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _document(fixture: Fixture) -> dict[str, Any]:
    return {
        "bwhooks_fixture": FIXTURE_VERSION,
        "id": fixture.id,
        "event_types": list(fixture.event_types),
        "request": {
            "method": fixture.method,
            "path": fixture.path,
            "query": fixture.query,
            "content_type": fixture.content_type,
            "body": fixture.body.decode(fixture.body_encoding),
            **_encoding(fixture.body_encoding),
        },
        "answer": {
            "status": fixture.status,
            "content_type": fixture.answer_content_type,
            "body": fixture.answer.decode(fixture.answer_encoding),
            **_encoding(fixture.answer_encoding),
        },
    }


def _encoding(name: str) -> dict[str, str]:
    """The ``encoding`` key of a body not in UTF-8."""
    return {} if name == "utf-8" else {"encoding": name}
