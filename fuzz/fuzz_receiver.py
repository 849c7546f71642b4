"""Coverage-guided fuzzing of the receiver's parsing (atheris, libFuzzer).

    .venv/bin/python fuzz/fuzz_receiver.py -max_total_time=30 -rss_limit_mb=1024 CORPUS

An input is two bytes and the rest: the first picks the request (0 a POST body, 1 a GET
query string, 2 a POST body, 3 an ``Authorization`` header of the rest's first line, then a
POST body), the second its ``Content-Type`` (0 ``application/json``, the compiled path; 1
with a charset; 2 ``text/plain``; 3 none). ``.ci/run`` puts the documented examples in the
corpus behind two zero bytes, and the seeds of ``fuzz/seeds/`` as they are.

Credentials are valid (but in mode 3). A handler reads every accepted event whole. Any
exception out of ``Receiver.handle`` is a crash, and so is a 5xx or a refusal that speaks
of recursion: a ``RecursionError`` caught on the way is a bug all the same.
"""

from __future__ import annotations

import json
import sys
import warnings

import atheris

with atheris.instrument_imports():
    from bwhooks import BasicAuth, CallbackRequest, Event, Receiver
    from bwhooks.auth import basic_authorization
    from bwhooks.events._base import thaw

RECEIVER = Receiver(auth=BasicAuth(("fuzz", "fuzz-pass")), max_body_size=512 * 1024)
AUTHORIZATION = basic_authorization("fuzz", "fuzz-pass")
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", None]


@RECEIVER.on(Event)
def read_everything(event: Event) -> None:
    """What a handler may do with an event: read all of ``raw``, encode it."""
    json.dumps(thaw(event.raw))


def test_one_input(data: bytes) -> None:
    mode = data[0] % 4 if data else 0
    content_type = CONTENT_TYPES[data[1] % 4 if len(data) > 1 else 0]
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
