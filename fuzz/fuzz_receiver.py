"""Coverage-guided fuzzing of the receiver's parsing (atheris, libFuzzer).

    .venv/bin/python fuzz/fuzz_receiver.py -max_total_time=30 -rss_limit_mb=1024

Every input becomes a callback request (POST body, or GET query string) with valid
credentials; any exception out of ``Receiver.handle`` or any 5xx is a crash.
"""

from __future__ import annotations

import sys
import warnings

import atheris

with atheris.instrument_imports():
    from bwhooks import BasicAuth, CallbackRequest, Event, Receiver
    from bwhooks.auth import basic_authorization

RECEIVER = Receiver(auth=BasicAuth(("fuzz", "fuzz-pass")), max_body_size=64 * 1024)
RECEIVER.on(Event)(lambda event: None)
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("fuzz", "fuzz-pass"),
}
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", ""]


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    mode = provider.ConsumeIntInRange(0, 3)
    headers = dict(HEADERS)
    if mode == 3:  # the authorization header itself
        headers["Authorization"] = provider.ConsumeUnicodeNoSurrogates(200)
    headers["Content-Type"] = CONTENT_TYPES[provider.ConsumeIntInRange(0, 3)]
    rest = provider.ConsumeBytes(provider.remaining_bytes())
    if mode == 1:
        request = CallbackRequest("GET", "/callbacks", headers, b"", rest)
    else:
        request = CallbackRequest("POST", "/callbacks", headers, rest)
    response = RECEIVER.handle(request)
    if response.status >= 500:
        raise AssertionError(f"{response.status} for {data!r}")


def main() -> None:
    warnings.simplefilter("ignore")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
