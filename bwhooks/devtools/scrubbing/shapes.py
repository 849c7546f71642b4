"""What is known to be safe: the keys whose values are structure (kept only when they have its
shape), the BXML attributes that shape a call, the words that name no one, and the names
that say a value is a secret."""

from __future__ import annotations

import re

__all__ = [
    "ACCOUNT_KEYS",
    "ENUM",
    "ID",
    "ID_CHARS",
    "KEPT_WORDS",
    "SAFE_ATTRIBUTES",
    "SAFE_KEYS",
    "SAFE_NESTED",
    "SECRET_NAME",
    "WORD",
    "WORDS_KEYS",
    "WORDS_NESTED",
]

# An enumeration's value is a word (``answer``, ``TN-Validation-Passed``, ``mp3``): a letter
# first, no run of digits (``*67+1919...``, ``pin-4242-jane`` are no state or cause).
ENUM = re.compile(r"(?![^0-9]*[0-9]{2})(?:[A-Za-z][A-Za-z0-9_.:-]{0,63})?")
_COUNT = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,6})?")  # a count, a code, a confidence
_DIGIT = re.compile(r"[0-9*#]?")
_TOKEN = re.compile(r"[A-Za-z0-9_.:#*+-]{0,64}")  # a BXML attribute the app wrote
_TIME = re.compile(r"[0-9][0-9TZ:.+-]{3,39}|-?P[0-9YMWDTHS.]{1,40}")
ID = re.compile(r"[A-Za-z0-9_.:{}-]{1,128}")  # an id Bandwidth generates
ID_CHARS = re.compile(r"[A-Za-z0-9_.:{}-]*")
_IDS = re.compile(r"[A-Za-z0-9_.:{},-]{0,4096}")
WORD = re.compile(r"[a-z]+|v\d{1,2}(?:beta\d*)?")  # a path segment that names, not a value
_SERVICE = re.compile(r"[2-9]11|933")  # a three-digit service number (N11), never a person's


def _shaped(shape: re.Pattern[str], names: str) -> dict[str, re.Pattern[str]]:
    return dict.fromkeys(names.split(), shape)


SAFE_KEYS = {
    **_shaped(
        ENUM,
        "eventType type callState state status direction cause reason deliveryState tracks"
        " fileFormat priority referCallStatus channel verstat attestationIndicator privacy"
        " screen stabilized hold mute speaker withholdCallerName withholdCallerNumber"
        " notificationType",
    ),
    **_shaped(
        _COUNT,
        "deliveryCode errorCode channels segmentCount activeMembers textSize sipResponseCode"
        " referSipResponseCode notifySipResponseCode counter limit confidence"
        " denialStatusCode statusCode",
    ),
    "terminatingDigit": _DIGIT,
    **_shaped(
        _TIME,
        "time eventTime startTime enqueuedTime answerTime endTime completedTime completeTime"
        " createdTime lastUpdate duration dtmfDuration activation creationTimestamp"
        " expirationTimestamp",
    ),
    **_shaped(
        ID,
        "callId parentCallId messageId applicationId conferenceId memberId recordingId"
        " transcriptionId errorId gatherId id pairedMessageId originatingId sipCallId"
        " internalTicketNumber requestId endpointId deviceId oldNnid newNnid",
    ),
    "to": _SERVICE,  # an emergency routing query's 911 (933 for a test call): no one's number
}
SAFE_NESTED = {("machineDetectionResult", "value"): ENUM}  # (parent key, key): its shape
# Text Bandwidth writes (a toll-free verification's denial, block or failure): kept, with
# what looks personal inside it (numbers, URLs, e-mails...) replaced.
WORDS_KEYS = frozenset(
    {
        "declineReasonDescription",
        "denialReasonDescription",
        "blockedReason",
        "errorMessage",
        "errors",
    }
)
WORDS_NESTED = frozenset({("additionalDenialReasons", "reason")})  # (parent key, key)
ACCOUNT_KEYS = frozenset({"accountId", "userId"})
# BXML attributes that shape the call, not the people on it (kept when they have the shape).
SAFE_ATTRIBUTES = {
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
KEPT_WORDS = frozenset(
    {"", "anonymous", "private", "restricted", "unavailable", "unknown", "true", "false", "null"}
)
SECRET_NAME = re.compile(
    r"pass|pw|secret|token|key|auth|sig|cred|session|cookie|otp|pin|code|jwt|hmac|nonce", re.I
)
