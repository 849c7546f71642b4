"""Signing replays again: a delivery Bandwidth signed is sent again with a fresh signature.

A recording never keeps a signature's value (a signature of a known body lets anyone try
secrets offline): only the name of the header it came in, masked (``<masked>``), which says
which of Bandwidth's signed families it was (:func:`recorded_family`). A replay given the
secret (:class:`Resigning`) signs the exact bytes it sends, as that family signs them, or as
the family it is told; without the secret, a delivery that was signed goes unsigned, and a
receiver that verifies signatures answers it ``403``.
"""

from __future__ import annotations

from bwhooks.devtools.recording import Delivery
from bwhooks.signatures import (
    SUBSCRIPTIONS_HEADER,
    TOLL_FREE_HEADER,
    HmacSignature,
    SignatureEncoding,
)

__all__ = ["FAMILIES", "Resigning", "recorded_family", "signer", "unsigned_note"]

#: Bandwidth's signed families, as the command line names them, and their header.
FAMILIES = {"toll-free": TOLL_FREE_HEADER, "subscriptions": SUBSCRIPTIONS_HEADER}
_ENCODINGS = {"toll-free": SignatureEncoding.HEX, "subscriptions": SignatureEncoding.BASE64}


def recorded_family(delivery: Delivery) -> str | None:
    """The signed family (a key of :data:`FAMILIES`) whose signature header the recorded
    request carried, by the header's name (its value is never recorded); ``None`` when it
    carried none."""
    names = {name.lower() for name, _ in delivery.headers}
    return next((family for family, header in FAMILIES.items() if header.lower() in names), None)


def signer(family: str, secret: str) -> HmacSignature:
    """What signs a body as ``family`` signs it (any non-empty secret: a replay signs, the
    receiver decides what it accepts)."""
    return HmacSignature(secret, header=FAMILIES[family], encoding=_ENCODINGS[family])


class Resigning:
    """How replays are signed: with ``secret`` (``None``: never), as ``family`` for every
    delivery when given, else as the family each recorded delivery was signed by (one
    recorded unsigned goes unsigned). The secret is never shown (``repr`` included)."""

    __slots__ = ("_secret", "family")

    def __init__(self, secret: str | None = None, family: str | None = None) -> None:
        if family is not None and family not in FAMILIES:
            raise ValueError(f"a signed family is one of {', '.join(FAMILIES)}, not {family!r}")
        if secret is not None and not secret:
            raise ValueError("the signature's secret is empty")
        self._secret = secret
        self.family = family

    @property
    def signs(self) -> bool:
        """Whether a secret was given."""
        return self._secret is not None

    def signature_for(self, delivery: Delivery) -> HmacSignature | None:
        """What signs the replay of ``delivery`` (``None``: it goes unsigned)."""
        family = self.family or recorded_family(delivery)
        if self._secret is None or family is None:
            return None
        return signer(family, self._secret)

    def unsigned_header(self, delivery: Delivery) -> str | None:
        """The signature header ``delivery`` was recorded with when its replay goes without
        one (no secret given): the reason a verifying receiver answers it ``403``."""
        family = recorded_family(delivery)
        return None if self._secret is not None or family is None else FAMILIES[family]

    def __repr__(self) -> str:
        secret = "<secret>" if self._secret is not None else "None"
        return f"Resigning({secret}, family={self.family!r})"


def unsigned_note(header: str, how: str) -> str:
    """Why the replay of a delivery recorded with the signature ``header`` is refused, and
    ``how`` to give the secret."""
    return (
        f"signed when recorded ({header}), replayed unsigned: a receiver that verifies "
        f"signatures answers 403 ({how})"
    )
