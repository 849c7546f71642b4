"""Reading XML bodies safely: the document as a read-only mapping, and every hostile input
refused with a 400 (413 past the size limit) before anything is expanded or fetched."""

from __future__ import annotations

import http.server
import json
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import pytest
from support import AUTH, free_port

from bwhooks import BasicAuth, CallbackRequest, InvalidCallback, Receiver, parse_xml
from bwhooks.decoding.parsing import MAX_DEPTH
from bwhooks.decoding.xml import MAX_ELEMENTS, decode_xml
from bwhooks.events._base import FrozenList

XML = "application/xml; charset=utf-8"
MORE = Path(__file__).parent / "examples" / "more"


def test_the_document_becomes_a_read_only_mapping() -> None:
    root, payload = decode_xml(
        b"<?xml version='1.0'?>\n<Notification>\n  <Status>  COMPLETE\n </Status>\n"
        b"  <Empty/><Blank>   </Blank>\n"
        b"  <Numbers><TelephoneNumber>1</TelephoneNumber><TelephoneNumber>2</TelephoneNumber>"
        b"<Other>x</Other></Numbers>\n"
        b"  <Repeated>a</Repeated><Repeated><Child>b</Child></Repeated>\n"
        b"</Notification>"
    )
    assert root == "Notification"
    assert isinstance(payload, MappingProxyType)
    assert payload["Status"] == "COMPLETE"  # surrounding whitespace stripped
    assert payload["Empty"] == ""
    assert payload["Blank"] == ""
    numbers = payload["Numbers"]
    assert isinstance(numbers, MappingProxyType)
    assert numbers["TelephoneNumber"] == ("1", "2")
    assert numbers["Other"] == "x"
    assert isinstance(numbers["TelephoneNumber"], FrozenList)
    assert payload["Repeated"] == ("a", {"Child": "b"})
    with pytest.raises(TypeError):
        payload["Status"] = "changed"  # type: ignore[index]


def test_namespaces_are_reduced_to_the_local_name_attributes_and_mixed_text_dropped() -> None:
    root, payload = decode_xml(
        b'<n:Notification xmlns:n="urn:bw" xmlns="urn:default">'
        b'<Status code="5">COMPLETE</Status>text beside<n:OrderId>o-1</n:OrderId>'
        b"<!-- a comment --><?pi data?></n:Notification>"
    )
    assert root == "Notification"
    assert dict(payload) == {"Status": "COMPLETE", "OrderId": "o-1"}


def test_a_root_without_children_is_an_empty_mapping() -> None:
    assert decode_xml(b"<Notification>text</Notification>") == ("Notification", {})


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ('<?xml version="1.0" encoding="ISO-8859-1"?><N><S>café</S></N>'.encode("latin-1"), "café"),
        ('<?xml version="1.0" encoding="UTF-16"?><N><S>café</S></N>'.encode("utf-16"), "café"),
        ('<?xml version="1.0" encoding="windows-1252"?><N><S>“q”</S></N>'.encode("cp1252"), "“q”"),
        ("<N><S>café ✓</S></N>".encode(), "café ✓"),  # UTF-8 by default
        (b"<N><S>a &amp; b &lt;c&gt; &#x2713;</S></N>", "a & b <c> ✓"),  # predefined: fine
    ],
)
def test_encodings_follow_the_xml_declaration(body: bytes, text: str) -> None:
    assert decode_xml(body)[1]["S"] == text


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Notification><Status>&lol9;</Status></Notification>"""
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE n [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><Notification><Status>'
    + b"&a;" * 10_000
    + b"</Status></Notification>"
)
DTD = "XML with a document type declaration (<!DOCTYPE) is refused"
HOSTILE = {
    "billion-laughs": (LAUGHS, DTD),
    "quadratic-blowup": (QUADRATIC, DTD),
    "internal-entity": (b'<!DOCTYPE n [<!ENTITY e "x">]><n>&e;</n>', DTD),
    "external-file": (b'<!DOCTYPE n [<!ENTITY e SYSTEM "file:///etc/passwd">]><n>&e;</n>', DTD),
    "external-dtd": (b'<!DOCTYPE n SYSTEM "file:///etc/passwd"><n/>', DTD),
    "parameter-entity": (
        b'<!DOCTYPE n [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><n/>',
        DTD,
    ),
    "bare-doctype": (b"<!DOCTYPE Notification><Notification/>", DTD),
    "undeclared-entity": (
        b"<n><s>&e;</s></n>",
        "malformed XML: undefined entity: line 1, column 6",
    ),
    "too-deep": (b"<a>" * 10_000 + b"</a>" * 10_000, f"nested deeper than {MAX_DEPTH} levels"),
    "too-many": (
        b"<n>" + b"<TelephoneNumber/>" * (MAX_ELEMENTS + 1) + b"</n>",
        f"more than {MAX_ELEMENTS} XML elements",
    ),
    "invalid-bytes": (b"<n><s>\xff\xfe</s></n>", "malformed XML: not well-formed (invalid token)"),
    "bad-latin1-declared-utf8": ("<n><s>café</s></n>".encode("latin-1"), "malformed XML"),
    "unknown-encoding": (b'<?xml version="1.0" encoding="x-nope"?><n/>', "malformed XML"),
    "empty": (b"", "empty body"),
    "blank": (b" \n\t", "empty body"),
    "json": (
        b'{"eventType": "sms"}',
        "malformed XML: not well-formed (invalid token): line 1, column 0",
    ),
    "text": (b"COMPLETE", "malformed XML: syntax error"),
    "two-roots": (b"<n/><n/>", "malformed XML: junk after document element"),
    "unclosed": (b"<n><s>x</s>", "malformed XML: no element found"),
    "unbound-prefix": (b"<x:n/>", "malformed XML: unbound prefix"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_are_refused_with_a_clear_reason(name: str) -> None:
    body, reason = HOSTILE[name]
    with pytest.raises(InvalidCallback) as refused:
        decode_xml(body)
    assert refused.value.reason.startswith(reason)


class _Fetched(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<!ENTITY x 'fetched'>")

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def entity_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", free_port()), _Fetched)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_external_http_entities_are_never_fetched(entity_server: str) -> None:
    _Fetched.hits.clear()
    bodies = [
        f'<!DOCTYPE n [<!ENTITY e SYSTEM "{entity_server}/e">]><n>&e;</n>'.encode(),
        f'<!DOCTYPE n SYSTEM "{entity_server}/dtd"><n/>'.encode(),
        f'<!DOCTYPE n [<!ENTITY % p SYSTEM "{entity_server}/p"> %p;]><n/>'.encode(),
    ]
    receiver = Receiver(auth=BasicAuth(("bw-user", "s3cret-pässword")))
    for body in bodies:
        response = receiver.handle(
            CallbackRequest("POST", "/", {"Content-Type": XML, "Authorization": AUTH}, body)
        )
        assert (response.status, json.loads(response.body)) == (400, {"error": DTD})
    assert _Fetched.hits == []


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_body_is_a_400_through_the_receiver(name: str) -> None:
    receiver = Receiver(auth=BasicAuth(("bw-user", "s3cret-pässword")))
    headers = {"Content-Type": XML, "Authorization": AUTH}
    body, reason = HOSTILE[name]
    response = receiver.handle(CallbackRequest("POST", "/", headers, body))
    assert response.status == 400
    assert json.loads(response.body)["error"].startswith(reason)


def test_a_body_past_the_limit_is_a_413_before_it_is_parsed() -> None:
    receiver = Receiver(auth=BasicAuth(("bw-user", "s3cret-pässword")), max_body_size=1000)
    headers = {"Content-Type": XML, "Authorization": AUTH}
    response = receiver.handle(CallbackRequest("POST", "/", headers, LAUGHS + b" " * 1000))
    assert response.status == 413


def test_parse_xml_refuses_what_the_receiver_refuses() -> None:
    with pytest.raises(InvalidCallback, match="DOCTYPE"):
        parse_xml(LAUGHS)
    with pytest.raises(InvalidCallback, match="malformed XML"):
        parse_xml("not xml")


def _fuzz_target() -> Callable[[bytes], None]:
    """``fuzz/fuzz_receiver.py``'s ``test_one_input``, loaded without atheris (a stand-in
    whose ``instrument_imports`` does nothing)."""
    import contextlib
    import importlib.util
    import sys
    import types

    stand_in = types.ModuleType("atheris")
    stand_in.instrument_imports = contextlib.nullcontext  # type: ignore[attr-defined]
    path = Path(__file__).parent.parent / "fuzz" / "fuzz_receiver.py"
    spec = importlib.util.spec_from_file_location("fuzz_receiver_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("atheris")
    sys.modules["atheris"] = stand_in
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["atheris"]
        else:
            sys.modules["atheris"] = saved
    target: Callable[[bytes], None] = module.test_one_input
    return target


def test_the_fuzz_target_reads_every_seed_and_the_xml_examples() -> None:
    target = _fuzz_target()
    seeds = sorted((Path(__file__).parent.parent / "fuzz" / "seeds").iterdir())
    assert {p.name for p in seeds} >= {"xml-billion-laughs", "xml-external-entity", "xml-deep"}
    inputs = [p.read_bytes() for p in seeds]
    inputs += [b"\x00\x06" + p.read_bytes() for p in sorted(MORE.glob("*/*.xml"))]
    inputs += [b"\x00\x07" + p.read_bytes() for p in sorted(MORE.glob("*/*.xml"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data in inputs:
            target(data)  # a 5xx, a broken round trip or an exception raises
