"""The ``bwhooks`` command line: ``demo``, ``send``, ``listen``, ``replay``, ``export`` and
``dead-letters``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bwhooks.http import url_for_display

if TYPE_CHECKING:
    from bwhooks.devtools.recording import Recorder
    from bwhooks.devtools.replaying import Selection

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bwhooks", description="Receive and test Bandwidth HTTP callbacks."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="serve a receiver on 127.0.0.1 and send it a realistic sequence of callbacks",
        description="Start a receiver with Basic Auth on the embedded server, send it an inbound "
        "call, SMS and MMS over real HTTP (challenge first), print each typed event.",
    )
    send = commands.add_parser(
        "send",
        help="send one fake callback to a URL, the way Bandwidth does",
        description="Send a realistic fake callback of KIND to URL: first without credentials, "
        "then with them after a 401 Basic challenge. Exits 0 only if the final answer is 2xx.",
    )
    send.add_argument(
        "kind",
        metavar="KIND",
        help="a type: sms, hangup, reject, v1:answer (v1); initiate, disconnect, v2:answer "
        "(Voice v2); message-received, message-delivered (Messaging v2, sent as an array). "
        "answer, gather, dtmf, redirect and transferComplete are sent by both generations: "
        "the bare name means v1 (with a note); say v1: or v2:. Numbers webhooks (XML): "
        "orderNotification, MESSAGING_LOST, portOutValidation. Toll-free verification: "
        "tollfree:verified, tollfree:unverified, tollfree:denial, tollfree:failure, "
        "tollfree:blocked; Subscriptions v2: subscriptions:PORTOUT_REQUEST; endpoints: "
        "DEVICE_CONNECTED, DEVICE_DISCONNECTED; MFA: mfa:message-delivered, mfa:message-failed",
    )
    send.add_argument(
        "--list-kinds",
        action=_ListKinds,
        help="print every KIND and its event class, and exit",
    )
    send.add_argument(
        "--unknown",
        choices=sorted(_UNKNOWN),
        help="KIND is a type bwhooks does not know, sent on purpose as a Voice v2 eventType, a "
        "Messaging v2 type (in an array) or a v1 eventType",
    )
    send.add_argument("url", metavar="URL", help="where to send it (may carry user:pass@)")
    _credentials(send)
    send.add_argument(
        "--set",
        dest="fields",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field, by wire name (callId=c-1) or attribute name (call_id=c-1), "
        "a nested one by its path (message.text=hi); JSON values (2, true, {...}) are decoded. "
        "Numbers kinds take element names too (Status=FAILED, "
        'completed_numbers=["9195551234"]) and number_format=E164',
    )
    send.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="Messaging v2: how many elements the array carries (default 1)",
    )
    send.add_argument("--method", choices=["POST", "GET"], default="POST", type=str.upper)
    _signature_options(
        send,
        "sign the body as Bandwidth does: toll-free (hex in x-bandwidth-signature-hmac-sha256) "
        "or subscriptions (base64 in X-Bandwidth-Signature-SHA-256), with the secret of "
        "--secret-env or --secret; default: the KIND's family (tollfree:... toll-free, "
        "subscriptions:... subscriptions)",
    )
    listen = commands.add_parser(
        "listen",
        help="serve a receiver for local development, until interrupted",
        description="Serve callbacks on the embedded server: your receiver or app (--app), or "
        "one that prints every event with its ids.",
    )
    listen.add_argument("--host", default="127.0.0.1")
    listen.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    listen.add_argument("--path", default="/callbacks")
    _credentials(listen)
    listen.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="a bwhooks Receiver (served at --path) or any WSGI app, e.g. my_callbacks:receiver "
        "(imported from the current directory first, as flask, gunicorn and uvicorn do)",
    )
    _signature_options(
        listen,
        "the signature the printing receiver verifies, as Bandwidth signs this family: an "
        "unsigned or wrongly signed delivery is answered 403, as Bandwidth would see it (with "
        "--app or --forward, your app verifies: the inspector's replays are signed with it)",
    )
    listen.add_argument(
        "--forward",
        metavar="URL",
        help="relay every delivery to your app at URL and answer with its answer (the 401 "
        "challenge and BXML included); 502 when it is down, 504 when it is too slow",
    )
    listen.add_argument(
        "--forward-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long --forward waits for your app's answer (default 10)",
    )
    listen.add_argument(
        "--client-timeout",
        type=_positive(float),
        default=None,
        metavar="SECONDS",
        help="how long a client may take to send its request; slower ones are dropped (default 10)",
    )
    listen.add_argument(
        "--max-connections",
        type=_positive(int),
        default=None,
        metavar="N",
        help="how many connections are handled at once; the next ones wait (default 64)",
    )
    listen.add_argument(
        "--inspect-port",
        type=int,
        default=0,
        metavar="PORT",
        help="the inspector page's port on 127.0.0.1 (default: a free one, printed)",
    )
    listen.add_argument(
        "--record",
        metavar="FILE",
        help="keep every delivery and its answer in this SQLite file (created owner-only)",
    )
    listen.add_argument(
        "--max-deliveries",
        type=int,
        default=None,
        metavar="N",
        help="the most deliveries --record keeps; the oldest go first (default 10000)",
    )
    listen.add_argument(
        "--max-bytes",
        type=_size,
        default=None,
        metavar="SIZE",
        help="the most bytes of deliveries --record keeps, in bytes or with K, M or G "
        "(1024s); the oldest go first (default 64M)",
    )
    _replay_parser(commands)
    _dead_letters_parser(commands)
    export = commands.add_parser(
        "export",
        help="write recorded deliveries as regression fixtures, personal data replaced",
        description="Write one JSON fixture per chosen delivery into DIR (owner-only files): "
        "the request and the answer it got, scrubbed by default. In requests only structure "
        "is kept (event types, states, timestamps, Bandwidth's ids); every other value is "
        "replaced by a placeholder of its shape. In answers, the values found in any request, "
        "and whatever looks like a phone number, e-mail, SIP address, PIN or credential, are "
        "replaced; the same value always by the same placeholder. The pytest plugin's "
        "bw_replay fixture delivers them to your app.",
    )
    export.add_argument("file", metavar="FILE", help="the SQLite file of `listen --record`")
    export.add_argument("directory", metavar="DIR", help="where to write the fixtures")
    _selection(export)
    return parser


#: ``send --unknown``: the class whose fake carries a type bwhooks does not know.
_UNKNOWN = {
    "voice": "UnknownVoiceEvent",
    "messaging": "UnknownMessagingEvent",
    "v1": "UnknownEvent",
}


class _ListKinds(argparse.Action):
    """``send --list-kinds``: every kind spelling and its class, by generation; then exit."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from bwhooks.events import EmergencyCallEvent, NumbersEvent, VoiceEvent
        from bwhooks.testing import KINDS
        from bwhooks.testing.fakes_more import MORE_KINDS

        parts: dict[str, list[str]] = {
            "Voice v2 (each also as v2:KIND)": [],
            "Messaging v2, sent as an array (each also as v2:KIND)": [],
            "Bandwidth v1, Catapult (each also as v1:KIND)": [],
            "Numbers (XML): order and account notifications, port-out validation": [],
            "Emergency Calling API: a 911 call's routing query (with --method GET)": [],
        }
        voice, messaging, v1, numbers, emergency = parts.values()
        both: list[str] = []
        for spelling, cls in sorted(KINDS.items(), key=lambda item: item[0].lower()):
            prefix, kind = spelling[:3], spelling[3:]
            if issubclass(cls, NumbersEvent | EmergencyCallEvent):
                lines = numbers if issubclass(cls, NumbersEvent) else emergency
                lines.append(f"  {spelling:<34} {cls.__name__}")
                continue
            if prefix not in ("v1:", "v2:"):
                continue  # the bare spellings, shown without their prefix below
            ambiguous = f"v1:{kind}" in KINDS and f"v2:{kind}" in KINDS
            if ambiguous and prefix == "v1:":
                both.append(kind)
            lines = v1 if prefix == "v1:" else voice if issubclass(cls, VoiceEvent) else messaging
            lines.append(f"  {spelling if ambiguous else kind:<34} {cls.__name__}")
        for title, lines in parts.items():
            print(f"{title}:", *lines, sep="\n")
        print(
            "Toll-free verification, Subscriptions v2, endpoint events, MFA receipts (JSON; "
            "tollfree: and subscriptions: are signed with --secret-env):"
        )
        for spelling, cls in MORE_KINDS.items():
            print(f"  {spelling:<34} {cls.__name__}")
        print(f"{', '.join(both)}: sent by both generations; the bare name means v1 (with a note)")
        print("A type bwhooks does not know: KIND with --unknown voice|messaging|v1")
        parser.exit()


def _positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    """An argparse type: a finite number of ``kind`` over 0."""

    def positive(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be over 0: {text!r}")
        return value

    return positive


def _replay_parser(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="send recorded deliveries again and compare the answers",
        description="Send deliveries recorded by `listen --record` to URL the way Bandwidth "
        "does (challenge first), with their content type and body byte for byte; print each "
        "answer beside the recorded one. Exits 1 unless every answer is 2xx (with --diff, also "
        "when an answer differs; BXML is compared as XML).",
    )
    replay.add_argument("file", metavar="FILE", help="the SQLite file of `listen --record`")
    replay.add_argument("url", metavar="URL", help="where to send them (may carry user:pass@)")
    _credentials(replay)
    _signature_options(
        replay,
        "sign every replay as this family signs it (default: a delivery recorded with a "
        "signature header is signed as that header's family, one recorded unsigned goes "
        "unsigned); needs the secret",
    )
    _selection(replay)
    replay.add_argument("--diff", action="store_true", help="also fail when an answer differs")


def _dead_letters_parser(commands: Any) -> None:
    dead = commands.add_parser(
        "dead-letters",
        help="list a queue's dead letters, or re-queue them",
        description="List the newest dead letters of a queue (id, when, handler, attempts, "
        "error, the event's type and ids; no payloads) and its gauges, or send letters back "
        "to work: --requeue ID..., --requeue-all. A re-queued letter is published with "
        "max_attempts attempts again and removed once the broker took it; one whose work "
        "was done meanwhile is removed. Exits 1 when some could not be re-queued.",
    )
    dead.add_argument(
        "--queue",
        required=True,
        metavar="MODULE:ATTR",
        help="the TaskQueue or CeleryQueue, e.g. callbacks:queue (imported from the current "
        "directory first, as listen --app)",
    )
    dead.add_argument(
        "--count", type=_positive(int), default=100, metavar="N", help="how many to list"
    )
    dead.add_argument("--json", action="store_true", help="print JSON, for machines")
    dead.add_argument(
        "--payloads",
        action="store_true",
        help="list each letter's whole envelope (the event's payload, the request's headers): "
        "as private as the callbacks",
    )
    requeue = dead.add_mutually_exclusive_group()
    requeue.add_argument("--requeue", nargs="+", metavar="ID", help="re-queue these letters")
    requeue.add_argument("--requeue-all", action="store_true", help="re-queue every letter")
    dead.add_argument(
        "--handler",
        metavar="MODULE:NAME",
        help="only the letters of this handler (listed, or with --requeue-all)",
    )


def _size(text: str) -> int:
    """A size in bytes: ``1048576``, ``512K``, ``64M``, ``1G`` (powers of 1024), at least 1."""
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    number, unit = (text[:-1], units[text[-1].upper()]) if text[-1:].upper() in units else (text, 1)
    if not number.isdigit() or int(number) * unit < 1:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (say 1048576, 512K, 64M, 1G)")
    return int(number) * unit


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--id", type=int, action="append", default=[], dest="ids", help="only this one (repeatable)"
    )
    parser.add_argument("--status", type=int, help="only those answered with this status")
    parser.add_argument("--type", dest="event_type", help="only those with an event of this type")
    parser.add_argument("--text", help="only those whose body contains this text")


def _signature_options(parser: argparse.ArgumentParser, family_help: str) -> None:
    parser.add_argument("--signature", choices=["toll-free", "subscriptions"], help=family_help)
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument(
        "--secret-env",
        metavar="VAR",
        help="the environment variable holding the signature's secret (never printed)",
    )
    secret.add_argument(
        "--secret",
        help="the signature's secret itself: visible to every user of this machine in the "
        "process list and kept in your shell's history (prefer --secret-env)",
    )


def _secret(args: argparse.Namespace) -> str | None:
    """The signature's secret of ``--secret-env`` or ``--secret`` (``None``: none given);
    :class:`_AppError` when the variable is unset or empty."""
    if args.secret_env is not None:
        value = os.environ.get(args.secret_env)
        if not value:
            raise _AppError(f"--secret-env: ${args.secret_env} is not set, or empty")
        return value
    if args.secret == "":
        raise _AppError("--secret: the secret is empty")
    return args.secret  # type: ignore[no-any-return]


def _signature(args: argparse.Namespace) -> Any:
    """The ``HmacSignature`` that ``send`` signs with (``None`` without a secret); a
    ``ValueError`` (or :class:`_AppError`) that never shows the secret when the options do
    not make one."""
    from bwhooks.signatures import HmacSignature
    from bwhooks.testing.fakes_more import signature_family

    secret = _secret(args)
    if secret is None:
        if args.signature is not None:
            raise ValueError("--signature needs a secret: --secret-env VAR (or --secret S)")
        return None
    family = args.signature or signature_family(args.kind)
    if family is None:
        raise ValueError(
            f"Bandwidth signs no {args.kind!r} callback: say which signature to compute with "
            "--signature toll-free|subscriptions"
        )
    if family == "toll-free":
        return HmacSignature.toll_free(secret)
    return HmacSignature.subscriptions(secret)


def _credentials(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", help="Basic Auth user (with --password)")
    parser.add_argument("--password", help="Basic Auth password (with --user)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in ("send", "listen", "replay") and (args.user is None) != (
        args.password is None
    ):
        parser.error("--user and --password go together")
    if args.command == "listen" and args.forward and (args.app or args.user):
        parser.error("--forward relays to your app, which checks the credentials: no --app, --user")
    if (
        args.command in ("listen", "replay")
        and args.signature
        and not (args.secret_env or args.secret is not None)
    ):
        parser.error("--signature signs with a secret: give --secret-env VAR (or --secret)")
    if (
        args.command == "listen"
        and not (args.forward or args.app or args.signature)
        and (args.secret_env or args.secret is not None)
    ):
        parser.error("the printing receiver verifies one family: add --signature FAMILY")
    if args.command == "dead-letters" and args.handler and args.requeue:
        parser.error("--handler chooses what is listed or --requeue-all re-queues, not --requeue")
    if args.command == "demo":
        from bwhooks.devtools.demo import run_demo

        return run_demo()
    if args.command == "send":
        return _send(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "export":
        return _export(args)
    if args.command == "dead-letters":
        return _dead_letters(args)
    return _listen(args)


def _dead_letters(args: argparse.Namespace) -> int:
    from bwhooks.devtools.deadletters import DeadLettersCommand

    try:
        queue = _imported(args.queue, "--queue", "callbacks:queue")
    except _AppError as exc:
        print(f"bwhooks dead-letters: {exc}", file=sys.stderr)
        return 2
    command = DeadLettersCommand(args.queue, queue, as_json=args.json, payloads=args.payloads)
    return command.run(
        count=args.count, requeue=args.requeue, requeue_all=args.requeue_all, handler=args.handler
    )


def _recording(args: argparse.Namespace) -> Recorder | None:
    """The recording ``args.file``, opened read-only (``None``, said on stderr, when it is
    no recording: the file is left as it is)."""
    from bwhooks.devtools.recording import Recorder

    if not os.path.exists(args.file):
        print(f"bwhooks {args.command}: no such file: {args.file}", file=sys.stderr)
        return None
    try:
        return Recorder(args.file, read_only=True)
    except ValueError as exc:
        print(f"bwhooks {args.command}: {exc}", file=sys.stderr)
        return None


def _chosen(args: argparse.Namespace, recorder: Recorder) -> Selection:
    """The deliveries the selection options choose, read a page at a time."""
    from bwhooks.devtools.replaying import chosen

    return chosen(
        recorder, ids=args.ids, status=args.status, event_type=args.event_type, text=args.text
    )


def _left_out(selection: Selection) -> None:
    if selection.left_out:
        print(
            f"{selection.left_out} left out: not recorded whole (refused, or over the bound)",
            file=sys.stderr,
        )
    if selection.unproven:
        print(
            f"{selection.unproven} left out: refused or never authenticated when recorded"
            " (choose them with --id or --status)",
            file=sys.stderr,
        )


def _export(args: argparse.Namespace) -> int:
    from bwhooks.devtools.fixtures import write_fixtures

    recorder = _recording(args)
    if recorder is None:
        return 2
    with recorder:
        selection = _chosen(args, recorder)
        try:
            written = write_fixtures(selection, args.directory)
        except OSError as exc:
            print(f"bwhooks export: cannot write to {args.directory}: {exc}", file=sys.stderr)
            return 2
    for path in written:
        print(path)
    _left_out(selection)
    print(f"{len(written)} fixtures written to {args.directory}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from bwhooks.devtools.replaying import replay
    from bwhooks.devtools.resigning import Resigning, unsigned_note
    from bwhooks.testing import HttpSender

    try:
        sender = HttpSender(args.url, (args.user, args.password) if args.user else None)
        resigning = Resigning(_secret(args), args.signature)
    except (ValueError, _AppError) as exc:
        print(f"bwhooks replay: {exc}", file=sys.stderr)
        return 2
    said = False
    recorder = _recording(args)
    if recorder is None:
        return 2
    replayed = failed = 0
    with recorder:
        selection = _chosen(args, recorder)
        for delivery in selection:
            replayed += 1
            kinds = ", ".join(e["event_type"] for e in delivery.events or ()) or "no event"
            unsigned = resigning.unsigned_header(delivery)
            if unsigned is not None and not said:  # once: the same holds for the others
                said = True
                how = "pass --secret-env VAR to sign replays again"
                print(
                    f"bwhooks replay: #{delivery.id} was {unsigned_note(unsigned, how)}",
                    file=sys.stderr,
                )
            try:
                done = replay(delivery, sender, resigning.signature_for(delivery))
            except OSError as exc:
                where = url_for_display(args.url)
                print(f"#{delivery.id} {delivery.method} [{kinds}]: cannot reach {where}: {exc}")
                failed += 1
                continue
            except (UnicodeError, ValueError):  # a method or query no request line can carry
                print(f"#{delivery.id} [{kinds}]: cannot be sent again as recorded")
                failed += 1
                continue
            exchange = " -> ".join(str(status) for status in done.exchange)
            verdict = "same answer" if done.same else "differs"
            print(
                f"#{delivery.id} {delivery.method} [{kinds}] {exchange}"
                f" (recorded {delivery.status}): {verdict}"
            )
            if not done.same:
                print(f"    recorded: {delivery.response_body[:200]!r}")
                print(f"    now:      {done.answer.body[:200]!r}")
            if not 200 <= done.answer.status < 300 or (args.diff and not done.same):
                failed += 1
    _left_out(selection)
    print(f"{replayed} replayed, {failed} failed")
    return 1 if failed else 0


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _send(args: argparse.Namespace) -> int:
    from bwhooks import events
    from bwhooks.testing import KINDS, HttpSender, UnknownKindError

    overrides: dict[str, Any] = {}
    for field in args.fields:
        name, sep, value = field.partition("=")
        if not sep:
            print(f"bwhooks send: --set takes FIELD=VALUE, not {field!r}", file=sys.stderr)
            return 2
        overrides[name.replace(".", "__")] = _value(value)
    if args.count is not None:
        overrides["count"] = args.count
    kind: Any = args.kind
    if args.unknown:
        if args.kind in KINDS:
            why = f"{args.kind!r} is a kind bwhooks knows: send it without --unknown"
        elif args.kind[:3] in ("v1:", "v2:"):
            why = f"--unknown takes the type as it is sent, without a prefix: not {args.kind!r}"
        else:
            why = ""
        if why:
            print(f"bwhooks send: {why}", file=sys.stderr)
            return 2
        kind = getattr(events, _UNKNOWN[args.unknown])
        overrides["event_type"] = args.kind
    try:
        payload = _fake_payload(kind, overrides)
        credentials = (args.user, args.password) if args.user else None
        sender = HttpSender(args.url, credentials, signature=_signature(args))
    except UnknownKindError as exc:
        print(
            f"bwhooks send: {exc.nearest()} (bwhooks send --list-kinds lists them; a type "
            "bwhooks does not know is sent on purpose with --unknown voice|messaging|v1)",
            file=sys.stderr,
        )
        return 2
    except (TypeError, ValueError, _AppError) as exc:
        print(f"bwhooks send: {exc}", file=sys.stderr)
        return 2
    if KINDS.get(args.kind) is events.EmergencyCallEvent and args.method != "GET":
        print("bwhooks send: a routing query is only ever a GET: add --method GET", file=sys.stderr)
        return 2
    try:
        answer = sender.send(payload, args.method)
    except ValueError as exc:  # a Messaging v2 array by GET
        print(f"bwhooks send: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"bwhooks send: cannot reach {url_for_display(args.url)}: {exc}", file=sys.stderr)
        return 1
    _print_sent(args, payload, sender.exchange, answer)
    return 0 if 200 <= answer.status < 300 else 1


def _print_sent(
    args: argparse.Namespace, payload: Any, exchange: Sequence[int], answer: Any
) -> None:
    """What ``send`` sent, the statuses of each attempt, the answer's body."""
    statuses = " -> ".join(str(status) for status in exchange)
    if isinstance(payload, str):  # a Numbers webhook: an XML document
        print(f"{args.method} {args.kind} (XML) {statuses}")
    elif isinstance(payload, list):  # Messaging v2: an array of elements
        kinds = ", ".join(element["type"] for element in payload)
        print(f"{args.method} [{kinds}] {statuses}")
    else:
        print(f"{args.method} {payload.get('eventType', args.kind)} {statuses}")
    if answer.body:
        print(answer.body.decode("utf-8", "replace"))
    if answer.status == 401:
        print(f"bwhooks send: {_refused_credentials(exchange)}", file=sys.stderr)


def _refused_credentials(exchange: Sequence[int]) -> str:
    """What a final ``401`` means: no credentials to answer the challenge with, or refused ones."""
    if len(exchange) < 2:
        return (
            "the receiver asks for credentials: put them in the URL "
            "(http://user:pass@host/callbacks) or pass --user and --password"
        )
    return "the receiver refused the credentials sent: check the user:pass it expects"


def _fake_payload(kind: Any, overrides: dict[str, Any]) -> Any:
    """``fake_payload(kind, **overrides)``, its note on a kind both generations send (an
    ``AmbiguousKindWarning``) printed on stderr: the kind is sent as the library reads it."""
    import warnings

    from bwhooks.testing import AmbiguousKindWarning, fake_payload

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AmbiguousKindWarning)
        payload = fake_payload(kind, **overrides)
    for warning in caught:
        if issubclass(warning.category, AmbiguousKindWarning):
            print(f"bwhooks send: note: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return payload


def _listen(args: argparse.Namespace) -> int:
    import tempfile

    from bwhooks.adapters.wsgi import CallbackMiddleware
    from bwhooks.devtools.inspector import start_inspector
    from bwhooks.devtools.middleware import RecordingMiddleware
    from bwhooks.devtools.recording import DEFAULT_MAX_BYTES, DEFAULT_MAX_DELIVERIES, Recorder
    from bwhooks.devtools.resigning import Resigning
    from bwhooks.devtools.serving import (
        DEFAULT_MAX_CONNECTIONS,
        DEFAULT_REQUEST_TIMEOUT,
        ListenServer,
    )

    try:
        secret = _secret(args)
        served = _listening_app(args, secret)
    except (_AppError, ValueError) as exc:  # ValueError: a secret the family does not take
        print(f"bwhooks listen: {exc}", file=sys.stderr)
        return 2
    scratch = None
    if not args.record:  # the page shows this run's deliveries, kept in a private scratch file
        scratch = tempfile.TemporaryDirectory(prefix="bwhooks-")
    path = args.record or os.path.join(scratch.name, "deliveries.sqlite3")  # type: ignore[union-attr]
    try:
        recorder = Recorder(
            path,
            max_deliveries=args.max_deliveries or DEFAULT_MAX_DELIVERIES,
            max_bytes=args.max_bytes or DEFAULT_MAX_BYTES,
        )
    except ValueError as exc:
        print(f"bwhooks listen: {exc}", file=sys.stderr)
        return 2
    credentials = _Credentials((args.user, args.password) if args.user else None)
    app = RecordingMiddleware(
        credentials.remember(served, args.path),
        recorder,
        kind="forwarded" if args.forward else "live",
        receiver=served.receiver if isinstance(served, CallbackMiddleware) else None,
    )
    server = ListenServer(
        args.host,
        args.port,
        app,
        max_connections=args.max_connections or DEFAULT_MAX_CONNECTIONS,
        request_timeout=args.client_timeout or DEFAULT_REQUEST_TIMEOUT,
    )
    url = f"http://{args.host}:{server.server_port}{args.path}"
    inspector, page = start_inspector(
        recorder,
        args.inspect_port,
        default_url=args.forward or url,
        credentials=credentials.get,
        trusted=(url,),  # the forward target (the default) and this listener get credentials
        resigning=Resigning(secret, args.signature),
    )
    print(f"bwhooks listening on {url}", flush=True)
    if args.forward:
        print(f"forwarding every delivery to {url_for_display(args.forward)}", flush=True)
    if args.record:
        print(f"recording deliveries to {recorder.path}", flush=True)
    print(f"inspector: {page}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        inspector.shutdown()
        recorder.close()
        if scratch is not None:
            scratch.cleanup()
    return 0


class _Credentials:
    """The Basic credentials a replay from the page answers the challenge with: those of
    ``--user/--password``, else the last ones of a callback the app accepted (answered
    ``2xx`` at the callbacks' path), kept in memory only. Credentials that were refused, or
    sent to any other route of the app (which may check none), are never remembered."""

    def __init__(self, given: tuple[str, str] | None) -> None:
        self.given = given
        self.seen: tuple[str, str] | None = None

    def get(self) -> tuple[str, str] | None:
        return self.given or self.seen

    def remember(self, app: Any, path: str) -> Any:
        from bwhooks.auth import parse_basic

        def remembering(environ: Any, start_response: Any) -> Any:
            found = parse_basic(environ.get("HTTP_AUTHORIZATION", ""))
            if found is None or environ.get("PATH_INFO") != path:
                return app(environ, start_response)

            def answered(status: str, headers: Any, exc_info: Any = None) -> Any:
                code = status.split(" ", 1)[0]
                if exc_info is None and len(code) == 3 and code.startswith("2"):
                    self.seen = found  # the app accepted them
                return start_response(status, headers, exc_info)

            return app(environ, answered)

        return remembering


def _listening_app(args: argparse.Namespace, secret: str | None) -> Any:
    from bwhooks.adapters.wsgi import make_app
    from bwhooks.auth import BasicAuth
    from bwhooks.devtools.demo import describe
    from bwhooks.events import Event
    from bwhooks.receiver import Receiver
    from bwhooks.signatures import HmacSignature

    if args.forward:
        from bwhooks.devtools.forwarding import DEFAULT_TIMEOUT, ForwardingApp

        return ForwardingApp(args.forward, timeout=args.forward_timeout or DEFAULT_TIMEOUT)
    if args.app:
        return _app(args.app, args.path)
    if args.user:
        auth: BasicAuth | None = BasicAuth((args.user, args.password))
    elif os.environ.get("BWHOOKS_CREDENTIALS"):
        auth = BasicAuth.from_env()
    else:
        auth = None
        print("no --user/--password: accepting callbacks without credentials", file=sys.stderr)
    signature = None
    if args.signature is not None and secret is not None:
        signature = (
            HmacSignature.toll_free(secret)
            if args.signature == "toll-free"
            else HmacSignature.subscriptions(secret)
        )
        print(
            f"verifying {args.signature} signatures ({signature.header}): an unsigned or "
            "wrongly signed delivery is answered 403",
            file=sys.stderr,
        )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # said above, in words
        receiver = Receiver(auth=auth, signature=signature)

    @receiver.on(Event)
    def show(event: Event) -> None:
        print(describe(event), flush=True)

    return make_app(receiver, args.path)


class _AppError(Exception):
    """``listen --app`` (or ``dead-letters --queue``) names nothing it can use: one line for
    stderr."""


def _app(spec: str, path: str) -> Any:
    """The WSGI app ``listen --app MODULE:ATTR`` serves: ATTR of MODULE imported from the
    current directory first (as flask, gunicorn and uvicorn do), a ``Receiver`` served at
    ``path`` or a WSGI app as it is."""
    import inspect
    import traceback

    from bwhooks.adapters.wsgi import make_app
    from bwhooks.receiver import Receiver

    target = _imported(spec, "--app", "my_callbacks:receiver")
    here = os.getcwd()
    if inspect.isfunction(target) and _takes_no_arguments(target):
        try:  # an app factory (create_app), as `flask --app` finds one
            target = target()
        except Exception as exc:  # whatever the user's factory raises
            why = f"{type(exc).__name__}: {exc}"
            why += _where(traceback.extract_tb(exc.__traceback__), here)
            raise _AppError(f"{spec}() failed: {why}") from None
        spec = f"{spec}()"
    if isinstance(target, Receiver):
        return make_app(target, path)
    call = target if inspect.isfunction(target) else getattr(target, "__call__", None)  # noqa: B004
    if call is not None and not inspect.iscoroutinefunction(call) and not _takes_wsgi_call(call):
        raise _AppError(
            f"{spec!r} cannot be called as a WSGI app (environ, start_response): pass a bwhooks"
            " Receiver, a WSGI app, or a function that takes no arguments and returns one"
        )
    if call is not None and inspect.iscoroutinefunction(call):
        raise _AppError(
            f"{spec!r} is an ASGI app: --app serves a bwhooks Receiver or a WSGI app "
            "(serve this one with uvicorn, or pass its Receiver)"
        )
    if call is None:
        raise _AppError(
            f"{spec!r} is an object of type {type(target).__name__}, not a bwhooks Receiver"
            " or a WSGI app"
        )
    return target


def _imported(spec: str, option: str, example: str) -> Any:
    """ATTR (dotted names walked) of MODULE, ``spec`` being ``MODULE:ATTR`` given to
    ``option``, imported from the current directory first (as flask, gunicorn and uvicorn
    do); :class:`_AppError` says in one line why not."""
    import difflib
    import importlib
    import traceback

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise _AppError(f"{option} takes MODULE:ATTR (e.g. {example}), not {spec!r}")
    here = os.getcwd()
    if sys.path[:1] != [here]:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # whatever importing the user's module raises
        why = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ImportError):
            why = str(exc)
        elif not isinstance(exc, SyntaxError):  # which says where already
            why += _where(traceback.extract_tb(exc.__traceback__), here)
        raise _AppError(f"cannot import {module_name!r} (from {here}): {why}") from None
    target: Any = module
    for name in attribute.split("."):
        if not hasattr(target, name):
            where = getattr(module, "__file__", None) or module_name
            close = difflib.get_close_matches(name, [n for n in dir(target) if n[:1] != "_"], 1)
            hint = f": did you mean {close[0]!r}?" if close else ""
            raise _AppError(f"{module_name!r} ({where}) has no attribute {attribute!r}{hint}")
        target = getattr(target, name)
    return target


def _takes_no_arguments(function: Callable[..., Any]) -> bool:
    import inspect

    try:
        inspect.signature(function).bind()
    except (TypeError, ValueError):
        return False
    return True


def _takes_wsgi_call(call: Callable[..., Any]) -> bool:
    """Whether ``call(environ, start_response)`` binds (unknown signatures are given the
    benefit of the doubt)."""
    import inspect

    try:
        inspect.signature(call).bind({}, None)
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin)
        return True
    return True


def _where(frames: Sequence[Any], here: str) -> str:
    """`` (file, line N)``: the last frame in the user's folder, else the last in a file."""
    files = [f for f in frames if not f.filename.startswith("<")]
    mine = [f for f in files if f.filename.startswith(os.path.join(here, ""))]
    frame = (mine or files or [None])[-1]
    return f" ({frame.filename}, line {frame.lineno})" if frame is not None else ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
