"""Coverage-guided fuzzing of the receiver's parsing (atheris, libFuzzer).

    .venv/bin/python fuzz/fuzz_receiver.py -max_total_time=30 -rss_limit_mb=1024 CORPUS

An input is two bytes and the rest: the first picks the request (0 a POST body, 1 a GET
query string, 2 a POST body, 3 an ``Authorization`` header of the rest's first line, then a
POST body), the second its ``Content-Type`` modulo 8 (0 ``application/json``, the compiled
path; 1 with a charset; 2 ``text/plain``; 3 none; 4 and 5 as 0 and 1; 6
``application/xml; charset=utf-8``; 7 ``text/xml``). ``.ci/run`` puts the documented JSON
examples in the corpus behind two zero bytes, the XML ones behind ``\x00\x06``, and the
seeds of ``fuzz/seeds/`` as they are.

Credentials are valid (but in mode 3). A handler reads every accepted event whole; a
Numbers event must survive ``parse_xml(to_xml(event))``, and a port-out validation request
is denied with its own text in the answer (escaped, or the answer is a 500). Any
exception out of ``Receiver.handle`` is a crash, and so is a 5xx or a refusal that speaks
of recursion: a ``RecursionError`` caught on the way is a bug all the same.
"""

from __future__ import annotations

import json
import sys
import warnings

import atheris

with atheris.instrument_imports():
    from bwhooks import (
        AcceptableValues,
        BasicAuth,
        CallbackRequest,
        Event,
        NumbersEvent,
        PortOutAnswer,
        PortOutValidationEvent,
        Receiver,
        parse_xml,
        to_xml,
    )
    from bwhooks.auth import basic_authorization
    from bwhooks.events._base import thaw

RECEIVER = Receiver(  # a failing port-out handler is a 500 (not the fallback's deny): a crash
    auth=BasicAuth(("fuzz", "fuzz-pass")), max_body_size=512 * 1024, port_out_fallback="approve"
)
AUTHORIZATION = basic_authorization("fuzz", "fuzz-pass")
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", None]
CONTENT_TYPES = [*JSON_TYPES, *JSON_TYPES[:2], "application/xml; charset=utf-8", "text/xml"]


@RECEIVER.on(Event)
def read_everything(event: Event) -> None:
    """What a handler may do with an event: read all of ``raw``, encode it."""
    json.dumps(thaw(event.raw))
    if isinstance(event, NumbersEvent) and parse_xml(to_xml(event)) != event:
        raise AssertionError(f"to_xml does not give {event!r} back")


@RECEIVER.on(PortOutValidationEvent)
def deny_with_its_text(event: PortOutValidationEvent) -> PortOutAnswer:
    """An answer that carries the request's own text back (escaped)."""
    return PortOutAnswer.deny(
        (7519, event.subscriber_name or "no name"),
        acceptable=AcceptableValues(pin=event.pin, telephone_numbers=event.telephone_numbers),
    )


def test_one_input(data: bytes) -> None:
    mode = data[0] % 4 if data else 0
    content_type = CONTENT_TYPES[data[1] % 8 if len(data) > 1 else 0]
    rest = data[2:]
    headers = {"Authorization": AUTHORIZATION}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if mode == 3:  # the header itself: any text, as a server or a caller may hand it over
        line, _, rest = rest.partition(b"\n")
        headers["Authorization"] = line[:200].decode("utf-8", "surrogateescape")
    if mode == 1:
        request = CallbackRequest("GET", "/callbacks", headers, b"", rest)
    else:
        request = CallbackRequest("POST", "/callbacks", headers, rest)
    response = RECEIVER.handle(request)
    if response.status >= 500 or b"recursion" in response.body.lower():
        raise AssertionError(f"{response.status} {response.body[:200]!r} for {data[:200]!r}")


def main() -> None:
    warnings.simplefilter("ignore")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
