from bwhooks import (
    AnswerEvent,
    BasicAuth,
    ConferenceMemberEvent,
    PortOutAnswer,
    PortOutError,
    PortOutValidationEvent,
    Receiver,
    VoiceConferenceMemberJoinEvent,
    VoiceInitiateEvent,
)

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
muted: set[str] = set()


@receiver.on(VoiceInitiateEvent)  # an inbound call joins the stand-up
def inbound(event: VoiceInitiateEvent) -> str:
    return '<Response><Conference name="standup"/></Response>'


@receiver.on(VoiceConferenceMemberJoinEvent)
def joined(event: VoiceConferenceMemberJoinEvent) -> None:  # Django's ORM is safe to use here
    muted.discard(event.call_id or "")


# Bandwidth v1 (Catapult) on the same URL: an answered outbound call joins it too.
@receiver.on(AnswerEvent)
def answered(event: AnswerEvent) -> str:
    return '<Response><Conference name="standup"/></Response>'


@receiver.on(ConferenceMemberEvent)
def member(event: ConferenceMemberEvent) -> None:
    if event.mute:
        muted.add(event.member_id or "")
    else:
        muted.discard(event.member_id or "")


# Numbers (XML) on the same URL: a carrier asks to port numbers away; the answer decides.
@receiver.on(PortOutValidationEvent)
def port_out(event: PortOutValidationEvent) -> PortOutAnswer:
    if not event.pin:
        return PortOutAnswer.deny(PortOutError.PIN_MISSING)
    return PortOutAnswer.allow()
