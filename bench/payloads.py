"""The bodies the benchmarks parse: one documented example per event kind, v1 and v2."""

from __future__ import annotations

import json
from pathlib import Path

from bwhooks.auth import basic_authorization

EXAMPLES = Path(__file__).parents[1] / "tests" / "examples" / "v1"
EXAMPLES_V2 = EXAMPLES.parent / "v2"
DATA = Path(__file__).parent / "data"
CREDENTIALS = ("bw-user", "s3cret")
AUTHORIZATION = basic_authorization(*CREDENTIALS)
HEADERS = {"Content-Type": "application/json; charset=utf-8", "Authorization": AUTHORIZATION}


def _compact(path: Path) -> bytes:
    return json.dumps(json.loads(path.read_text()), separators=(",", ":")).encode()


def v1_bodies() -> dict[str, bytes]:
    """``{kind: body}`` for every v1 kind, from the richest example of each (the "-3" SDK
    fixtures carry real ids; the docs' "-1" examples fill the rest)."""
    bodies: dict[str, bytes] = {}
    by_preference = sorted(
        EXAMPLES.glob("*.json"), key=lambda p: (p.stem.rsplit("-", 1)[1] != "3", p.name)
    )
    for path in by_preference:
        kind = path.stem.rsplit("-", 1)[0]
        bodies.setdefault(kind, _compact(path))
    return dict(sorted(bodies.items()))


V1 = v1_bodies()
SDK_EQUIVALENTS = {  # bwhooks kind -> the v2 payload bandwidth-sdk parses for the same event
    "answer": _compact(DATA / "v2-answer-1.json"),
    "sms": json.dumps(json.loads((DATA / "v2-message-received-1.json").read_text())[0]).encode(),
}


def v2_bodies() -> dict[str, bytes]:
    """``{"v2-" + kind: body}`` for every Voice v2 and Messaging v2 kind, from its first
    example (a messaging body is the array Bandwidth posts)."""
    bodies: dict[str, bytes] = {}
    for path in sorted(EXAMPLES_V2.glob("*.json")):
        bodies.setdefault("v2-" + path.stem.rsplit("-", 1)[0], _compact(path))
    return bodies


V2 = v2_bodies()
#: bandwidth-sdk's model of each v2 kind it has one for (its ``from_json`` reads one element).
SDK_MODELS = {
    "v2-answer": "AnswerCallback",
    "v2-bridgeComplete": "BridgeCompleteCallback",
    "v2-bridgeTargetComplete": "BridgeTargetCompleteCallback",
    "v2-conferenceCompleted": "ConferenceCompletedCallback",
    "v2-conferenceCreated": "ConferenceCreatedCallback",
    "v2-conferenceMemberExit": "ConferenceMemberExitCallback",
    "v2-conferenceMemberJoin": "ConferenceMemberJoinCallback",
    "v2-conferenceRecordingAvailable": "ConferenceRecordingAvailableCallback",
    "v2-conferenceRedirect": "ConferenceRedirectCallback",
    "v2-disconnect": "DisconnectCallback",
    "v2-dtmf": "DtmfCallback",
    "v2-gather": "GatherCallback",
    "v2-initiate": "InitiateCallback",
    "v2-machineDetectionComplete": "MachineDetectionCompleteCallback",
    "v2-recordComplete": "RecordingCompleteCallback",
    "v2-recordingAvailable": "RecordingAvailableCallback",
    "v2-redirect": "RedirectCallback",
    "v2-transcriptionAvailable": "TranscriptionAvailableCallback",
    "v2-transferAnswer": "TransferAnswerCallback",
    "v2-transferComplete": "TransferCompleteCallback",
    "v2-transferDisconnect": "TransferDisconnectCallback",
    "v2-message-received": "InboundCallback",
    "v2-message-sending": "StatusCallback",
    "v2-message-delivered": "StatusCallback",
    "v2-message-failed": "StatusCallback",
}


def sdk_element(kind: str) -> str:
    """The JSON text bandwidth-sdk parses for ``kind``: the object, or the array's element."""
    value = json.loads(V2[kind])
    return json.dumps(value[0] if isinstance(value, list) else value)
