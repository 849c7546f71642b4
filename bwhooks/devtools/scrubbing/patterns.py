"""What personal data and secrets look like inside text: phone numbers however written, URLs,
SIP addresses, e-mails, credentials, secret parameters, JSON Web Tokens, digit runs and
percent-encoded text."""

from __future__ import annotations

import re

__all__ = [
    "DIGITS_FULL",
    "EMAIL_FULL",
    "LOOSE",
    "PHONE_FULL",
    "SIP_FULL",
    "STRUCTURED",
    "URL_FULL",
]

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

# A whole value of one shape.
PHONE_FULL = re.compile(_PHONE)
EMAIL_FULL = re.compile(_EMAIL)
SIP_FULL = re.compile(_SIP, re.I)
URL_FULL = re.compile(_URL)
DIGITS_FULL = re.compile(r"[0-9*#]*[0-9][0-9*#]*")

# Inside text, first: what has a structure of its own (its group names the kind).
STRUCTURED = re.compile(
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
LOOSE = re.compile(
    rf"(?P<phone>{_PHONE})|(?P<run>\d{{7,}})|(?P<encoded>{_ENCODED})|(?P<digits>{_DIGITS})"
)
