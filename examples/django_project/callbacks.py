from bwhooks import AnswerEvent, BasicAuth, ConferenceMemberEvent, Receiver
from bwhooks.events import VoiceConferenceMemberJoinEvent, VoiceInitiateEvent

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
muted: set[str] = set()


@receiver.on(AnswerEvent)
def answered(event: AnswerEvent) -> str:
    return '<Response><Conference name="standup"/></Response>'


@receiver.on(ConferenceMemberEvent)
def member(event: ConferenceMemberEvent) -> None:  # Django's ORM is safe to use here
    if event.mute:
        muted.add(event.member_id or "")
    else:
        muted.discard(event.member_id or "")


# Voice v2 on the same URL: the inbound call joins the stand-up too.
@receiver.on(VoiceInitiateEvent)
def inbound(event: VoiceInitiateEvent) -> str:
    return '<Response><Conference name="standup"/></Response>'


@receiver.on(VoiceConferenceMemberJoinEvent)
def joined(event: VoiceConferenceMemberJoinEvent) -> None:
    muted.discard(event.call_id or "")
