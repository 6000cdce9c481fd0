"""Admins through the emulator: roles, /add in one line, /edit, /retract, /restore, /history,
duplicates, four-eyes review, /official, and every attempt by someone who is not an admin.

Every test that changes the store uses the ``sandbox`` fixture, which puts it back afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.config import Settings
from bot.emulator import SentMessage
from bot.harness import EmulatedBot
from db import queries
from db.domain.figures import Counts
from db.domain.filters import IncidentFilter, Period
from db.models import AuditEntry, Change, Incident, OfficialTotal
from handlers.context import Services
from locales.i18n import Catalogs
from tests.conftest import ADMIN_ID, emulated_bot, only

OWNER = ADMIN_ID
SECOND_OWNER = 4343
EDITOR = 5151
OTHER_EDITOR = 5252
STRANGER = 6161

ADD = (
    "/add date=2026-07-13 district=Kalbajar place=Seyidlar civilian_injured=1 "
    'device=antipersonnel source=https://news.az/articles/1 note="injured while working near '
    'the village"'
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    owners = frozenset({OWNER, SECOND_OWNER})
    async with emulated_bot(settings, "123456789:ADMIN-TOKEN", admin_ids=owners) as running:
        for user, lang in (
            (OWNER, "en"),
            (SECOND_OWNER, "ru"),
            (EDITOR, "ru"),
            (OTHER_EDITOR, "az"),
            (STRANGER, "en"),
        ):
            running.emulator.add_private_chat(user, first_name="Admin", language_code=lang)
        yield running


def _text(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain or "" for m in messages)


def _button(message: SentMessage, label: str) -> str:
    for button in message.buttons:
        if button["text"] == label:
            return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {[b['text'] for b in message.buttons]}")


async def _press(
    bot: EmulatedBot, user: int, message_id: int, data: str, *, chat_id: int | None = None
) -> tuple[list[SentMessage], str | None]:
    """Press a button (or forge its data); returns the messages and the alert's text, if any."""
    answered = set(bot.emulator.callback_answers)
    messages = await bot.press(user, message_id, data, chat_id=chat_id)
    new = [a for key, a in bot.emulator.callback_answers.items() if key not in answered]
    return messages, (new[0].get("text") if new else None)


async def _own_message(bot: EmulatedBot, user: int) -> int:
    """A message of the bot in the user's own chat, whose buttons the user can forge."""
    return only(await bot.send(user, "/whoami")).message_id


def _change_id(card: SentMessage) -> int:
    return int(_button(card, card.buttons[0]["text"]).split("|")[2])


async def _national(services: Services, **period: Any) -> Counts:
    async with services.store.db.read() as connection:
        return (await queries.stats(connection, IncidentFilter(period=Period(**period)))).counts


async def _count(services: Services, model: Any) -> int:
    async with services.store.db.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model)) or 0)


async def _editor(bot: EmulatedBot, user: int) -> None:
    text = _text(await bot.send(OWNER, f"/admin add {user}"))
    assert f"User {user} is now an editor" in text or f"User {user} is already an editor" in text


# -- roles ----------------------------------------------------------------------------------------

ADMIN_COMMANDS = (
    ADD,
    "/add",
    "/edit 1 civilian_killed=2 reason=typo",
    '/retract 1 reason="duplicate"',
    "/restore 1",
    "/history 1",
    "/official as_of=2023-06-16 total=304 source=https://anama.gov.az/x",
    "/pending",
    f"/admin add {STRANGER}",
    "/admin list",
)


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_a_stranger_is_refused_every_admin_command(
    bot: EmulatedBot, sandbox: Services, command: str
) -> None:
    before = await _national(sandbox)
    audit = await _count(sandbox, AuditEntry)
    reply = only(await bot.send(STRANGER, command))
    expected = (
        "Only the bot's owners can do this."
        if command.startswith(("/admin", "/pending"))
        else ("Only the bot's admins can do this.")
    )
    assert reply.plain == expected
    assert await _national(sandbox) == before
    assert await _count(sandbox, AuditEntry) == audit


async def test_the_refusal_is_in_the_users_language(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services, user_id: int
) -> None:
    bot.emulator.add_private_chat(user_id, first_name="Anna", language_code="ru")
    reply = only(await bot.send(user_id, ADD))
    assert reply.plain == catalogs.translator("ru")._("Only the bot's admins can do this.")


async def test_an_editor_cannot_appoint_editors(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    await _editor(bot, EDITOR)
    reply = only(await bot.send(EDITOR, f"/admin add {STRANGER}"))
    assert reply.plain == catalogs.translator("ru")._("Only the bot's owners can do this.")
    assert "Only the bot's admins" in _text(await bot.send(STRANGER, "/history 1"))


async def test_owners_appoint_list_and_remove_editors(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    await _editor(bot, EDITOR)
    assert "already an editor" in _text(await bot.send(OWNER, f"/admin add {EDITOR}"))
    listing = _text(await bot.send(OWNER, "/admin list"))
    assert str(EDITOR) in listing and str(OWNER) in listing
    assert _text(await bot.send(OWNER, "/whoami")) == f"Your user id is {OWNER}. Role: owner."
    assert "no longer an editor" in _text(await bot.send(OWNER, f"/admin remove {EDITOR}"))
    assert "Only the bot's admins" not in _text(await bot.send(OWNER, "/history 1"))
    refused = only(await bot.send(EDITOR, "/history 1"))
    assert refused.plain == catalogs.translator("ru")._("Only the bot's admins can do this.")
    assert "is not an editor" in _text(await bot.send(OWNER, f"/admin remove {EDITOR}"))
    async with sandbox.store.db.read() as connection:
        actions = (
            await connection.execute(
                select(AuditEntry.action, AuditEntry.actor, AuditEntry.subject_user).order_by(
                    AuditEntry.id.desc()
                )
            )
        ).all()[:2]
    assert [tuple(a) for a in actions] == [
        ("editor.remove", OWNER, EDITOR),
        ("editor.add", OWNER, EDITOR),
    ]


@pytest.mark.parametrize(
    "command",
    [
        "/admin",
        "/admin add",
        "/admin add bob",
        "/admin add -5",
        "/admin promote 5",
        "/admin add 1 2",
    ],
)
async def test_malformed_admin_commands_are_explained(
    bot: EmulatedBot, sandbox: Services, command: str
) -> None:
    text = _text(await bot.send(OWNER, command))
    assert "/admin add USER_ID" in text
    assert await _count(sandbox, AuditEntry) == await _count(sandbox, AuditEntry)


# -- /add in one line -----------------------------------------------------------------------------


async def test_an_owner_adds_an_incident_and_the_figures_follow(
    bot: EmulatedBot, sandbox: Services
) -> None:
    before = await _national(sandbox)
    reply = only(await bot.send(OWNER, ADD))
    text = reply.plain or ""
    assert text.startswith("Saved as #")
    assert "July 13, 2026 · Kalbajar, Seyidlar" in text
    assert "1 civilian injured · anti-personnel mine" in text
    assert "Note: injured while working near the village" in text
    after = await _national(sandbox)
    assert after.civilian_injured == before.civilian_injured + 1
    assert after.total == before.total + 1
    incident_id = int(text.split("#")[1].split()[0])
    # /stats shows it too, and /history names who recorded it.
    stats = _text(await bot.send(OWNER, "/stats Kalbajar 2026-07"))
    assert "1 person killed or injured" in stats
    history = _text(await bot.send(OWNER, f"/history {incident_id}"))
    assert f"recorded by user {OWNER}" in history
    # Undo retracts it; the figures are back.
    undone = only(await bot.press(OWNER, reply.message_id, _button(reply, "Undo")))
    assert f"#{incident_id} is retracted" in (undone.plain or "")
    assert await _national(sandbox) == before
    messages, alert = await _press(bot, OWNER, reply.message_id, _button(reply, "Undo"))
    assert messages == [] and alert == f"#{incident_id} is already retracted."


async def test_the_reply_is_in_the_admins_language(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    reply = only(await bot.send(SECOND_OWNER, ADD))
    ru = catalogs.translator("ru")
    assert (reply.plain or "").startswith(ru._("Saved as #{id}").split("{")[0])
    assert "13 июля 2026" in (reply.plain or "")


BAD_VALUES = [
    ("date=2023-02-30", "date: “2023-02-30” is not a valid date"),
    ("date=2023-13", "date: “2023-13” is not a valid date"),
    ("date=2099-01-01", "date: “2099-01-01” is in the future."),
    ("date=1850-01-01", "date: “1850-01-01” is too far in the past."),
    ("date=yesterday", "date: “yesterday” is not a valid date"),
    ("civilian_killed=-1", "civilian_killed: “-1” is not a whole number of 0 or more."),
    ("civilian_killed=1.5", "civilian_killed: “1.5” is not a whole number of 0 or more."),
    (
        "military_injured=99999999999999999999",
        "military_injured: “99999999999999999999” is more than 1,000.",
    ),
    ("civilian_injured=1001", "civilian_injured: “1001” is more than 1,000."),
    ("source=javascript:alert(1)", "source: “javascript:alert(1)” is not an http(s) link."),
    ("source=ftp://example.com/x", "source: “ftp://example.com/x” is not an http(s) link."),
    ("source=https://", "source: “https://” is not an http(s) link."),
    ('source="https://exa mple.com"', "source: “https://exa mple.com” is not an http(s) link."),
    ("device=landmine", "device: “landmine” is not one of antipersonnel, antivehicle"),
    ("district=Atlantis", "district: “Atlantis” is not a known district."),
    ("district=Kalbajr", "Did you mean: Kalbajar?"),
    ("note=" + "x" * 5000, "note: longer than 1,000 characters."),
    ("place=" + "y" * 300, "place: longer than 200 characters."),
    ("colour=red", "colour: unknown key."),
    ('note="unclosed', "note: the quotation mark is not closed."),
    ("note=", "note: empty."),
]


@pytest.mark.parametrize(("change", "expected"), BAD_VALUES)
async def test_every_malformed_value_is_named_and_nothing_is_stored(
    bot: EmulatedBot, sandbox: Services, change: str, expected: str
) -> None:
    key = change.split("=")[0]
    words = [w for w in ADD.split(" ") if not w.startswith(f"{key}=")]
    command = " ".join(words)
    if key == "note":
        command = command.split(" note=")[0]
    command += " " + change
    incidents = await _count(sandbox, Incident)
    text = _text(await bot.send(OWNER, command))
    assert text.startswith("Nothing was saved.")
    assert expected in text
    assert "/add date=2023-07-13 district=Kalbajar" in text  # how it is written
    assert await _count(sandbox, Incident) == incidents


async def test_missing_keys_and_zero_counts(bot: EmulatedBot, sandbox: Services) -> None:
    text = _text(await bot.send(OWNER, "/add place=Seyidlar"))
    for key in ("date", "district", "source"):
        assert f"{key}: required." in text
    text = _text(
        await bot.send(
            OWNER, "/add date=2026-01-02 district=Lachin civilian_killed=0 source=https://a.az/b"
        )
    )
    assert "At least one of civilian_killed" in text


async def test_errors_are_in_the_admins_language(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    ru = catalogs.translator("ru")
    text = _text(await bot.send(SECOND_OWNER, "/add date=2023-02-30 district=Lachin source=x"))
    assert text.startswith(ru._("Nothing was saved."))
    assert ru._("{key}: “{value}” is not an http(s) link.").format(key="source", value="x") in text


async def test_html_in_a_note_is_shown_as_text(bot: EmulatedBot, sandbox: Services) -> None:
    note = "<b>bold</b> & <a href='javascript:x'>link</a>"
    command = (
        "/add date=2026-02-03 district=Lachin military_injured=2 source=https://a.az/html "
        f'note="{note}"'
    )
    reply = only(await bot.send(OWNER, command))
    assert f"Note: {note}" in (reply.plain or "")
    assert [e["type"] for e in reply.entities if e["type"] in ("text_link", "italic")] == [
        "text_link"  # the source's link only
    ]


async def test_curly_quotes_from_a_phone_work(bot: EmulatedBot, sandbox: Services) -> None:
    command = (
        "/add date=2026-02 district=Lachin military_killed=1 source=https://a.az/curly "
        "note=\u201cnear the road\u201d"
    )
    reply = only(await bot.send(OWNER, command))
    assert "February 2026 · Lachin" in (reply.plain or "")
    assert "Note: near the road" in (reply.plain or "")


# -- duplicates -----------------------------------------------------------------------------------


async def test_a_possible_duplicate_needs_confirmation(bot: EmulatedBot, sandbox: Services) -> None:
    first = only(await bot.send(OWNER, ADD))
    assert (first.plain or "").startswith("Saved as #")
    incidents = await _count(sandbox, Incident)
    # Same district and date, another source.
    again = ADD.replace("https://news.az/articles/1", "https://other.az/2")
    prompt = only(await bot.send(OWNER, again))
    assert "Possible duplicates:" in (prompt.plain or "")
    assert "(same district and date)" in (prompt.plain or "")
    assert await _count(sandbox, Incident) == incidents
    cancelled = only(await bot.press(OWNER, prompt.message_id, _button(prompt, "Cancel")))
    assert cancelled.plain == "Cancelled. Nothing was saved."
    assert await _count(sandbox, Incident) == incidents
    # Same source URL, another date: confirmed this time.
    same_source = ADD.replace("date=2026-07-13", "date=2026-07-20")
    prompt = only(await bot.send(OWNER, same_source))
    assert "(same source)" in (prompt.plain or "")
    data = _button(prompt, "Save anyway")
    saved = only(await bot.press(OWNER, prompt.message_id, data))
    assert (saved.plain or "").startswith("Saved as #")
    assert await _count(sandbox, Incident) == incidents + 1
    # The button works once; a stranger replaying it is refused.
    messages, alert = await _press(bot, OWNER, prompt.message_id, data)
    assert messages == [] and alert == "This button is no longer valid. Send the command again."
    messages, alert = await _press(bot, STRANGER, await _own_message(bot, STRANGER), data)
    assert messages == [] and alert == "Only the bot's admins can do this."
    assert await _count(sandbox, Incident) == incidents + 1


# -- /edit, /retract, /restore, /history -----------------------------------------------------------


async def _added(bot: EmulatedBot, user: int = OWNER, command: str = ADD) -> int:
    text = only(await bot.send(user, command)).plain or ""
    assert text.startswith(("Saved as #", "Сохранено как #")), text
    return int(text.split("#")[1].split()[0])


async def test_edit_retract_restore_and_history(bot: EmulatedBot, sandbox: Services) -> None:
    base = await _national(sandbox)
    incident_id = await _added(bot)
    text = _text(
        await bot.send(
            OWNER, f'/edit {incident_id} civilian_injured=2 civilian_killed=1 reason="ANAMA update"'
        )
    )
    assert f"#{incident_id} corrected (version 2)" in text
    assert "civilians injured: 1 → 2" in text
    assert "civilians killed: 0 → 1" in text
    assert "Reason: ANAMA update" in text
    now = await _national(sandbox)
    assert now.civilian_injured == base.civilian_injured + 2
    assert now.civilian_killed == base.civilian_killed + 1

    text = _text(await bot.send(OWNER, f'/retract {incident_id} reason="duplicate of a report"'))
    assert "no longer counts" in text
    assert await _national(sandbox) == base
    assert "already retracted" in _text(await bot.send(OWNER, f"/retract {incident_id} reason=x"))

    text = _text(await bot.send(OWNER, f"/restore {incident_id}"))
    assert "counts in figures and lists again" in text
    assert (await _national(sandbox)).civilian_injured == base.civilian_injured + 2
    assert "is not retracted" in _text(await bot.send(OWNER, f"/restore {incident_id}"))

    history = _text(await bot.send(OWNER, f"/history {incident_id}"))
    assert f"#{incident_id}, version 4" in history
    for line in (
        "version 1",
        f"recorded by user {OWNER}",
        "version 2",
        "corrected by",
        "civilians injured: 1 → 2",
        "Reason: ANAMA update",
        "version 3",
        "retracted by",
        "Reason: duplicate of a report",
        "version 4",
        "restored by",
    ):
        assert line in history, line


async def test_a_seeded_incident_has_a_history_from_the_dataset(
    bot: EmulatedBot, sandbox: Services
) -> None:
    text = _text(await bot.send(OWNER, "/history 1"))
    assert "#1, version 1" in text
    assert "loaded from the dataset" in text
    text = _text(await bot.send(OWNER, '/edit 1 place="Alkhanli village" reason="spelling"'))
    assert "place: Alkhanli → Alkhanli village" in text
    history = _text(await bot.send(OWNER, "/history 1"))
    assert "loaded from the dataset" in history and "version 2" in history


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/edit", "id: required."),
        ("/edit abc civilian_killed=1 reason=x", "“abc” is not a number like 12."),
        ("/edit 1 reason=x", "key=value: required."),
        ("/edit 1 civilian_killed=1", "reason: required."),
        ("/edit 1 civilian_killed=-3 reason=x", "civilian_killed: “-3” is not a whole number"),
        ("/edit 1 date=2023-02-30 reason=x", "date: “2023-02-30” is not a valid date"),
        ("/edit 1 source=javascript:alert(1) reason=x", "is not an http(s) link."),
        ("/edit 1 status=retracted reason=x", "status: unknown key."),
        (
            "/edit 1 civilian_killed=0 civilian_injured=0 reason=x",
            "At least one of civilian_killed",
        ),
        ("/edit 999999 civilian_killed=1 reason=x", "There is no #999999."),
        ("/retract 1", "reason: required."),
        ("/retract", "id: required."),
        ("/retract 999999 reason=x", "There is no #999999."),
        ("/restore 999999", "There is no #999999."),
        ("/history", "id: required."),
        ("/history 999999", "There is no #999999."),
        ('/edit 1 civilian_killed=1 reason="' + "r" * 600 + '"', "reason: longer than 500"),
    ],
)
async def test_malformed_corrections_are_explained(
    bot: EmulatedBot, sandbox: Services, command: str, expected: str
) -> None:
    audit = await _count(sandbox, AuditEntry)
    assert expected in _text(await bot.send(OWNER, command))
    assert await _count(sandbox, AuditEntry) == audit


async def test_an_edit_that_changes_nothing_is_refused(bot: EmulatedBot, sandbox: Services) -> None:
    incident_id = await _added(bot)
    text = _text(await bot.send(OWNER, f"/edit {incident_id} civilian_injured=1 reason=same"))
    assert "Nothing to change" in text


# -- review ---------------------------------------------------------------------------------------


async def test_an_editors_incident_waits_for_another_admin(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    await _editor(bot, EDITOR)
    # The second owner chose Russian for their chat: the bot writes to them in it unprompted.
    prompt = only(await bot.send(SECOND_OWNER, "/language"))
    await bot.press(SECOND_OWNER, prompt.message_id, "lang:ru")
    before = await _national(sandbox)
    sent_before = len(bot.emulator.sent)
    reply = only(await bot.send(EDITOR, ADD))
    waiting = catalogs.translator("ru")._(
        "Waiting for review as change {id}: it counts nowhere until another admin approves it."
    )
    assert waiting.split("{")[0] in (reply.plain or "")
    assert await _national(sandbox) == before
    # Both owners were sent the change with Approve and Reject, each in their chat's language
    # (the one chosen with /language, else the default).
    cards = {
        m.chat_id: m for m in bot.emulator.sent[sent_before:] if m.chat_id in (OWNER, SECOND_OWNER)
    }
    assert set(cards) == {OWNER, SECOND_OWNER}
    card = cards[OWNER]
    assert "New incident" in (card.plain or "") and f"proposed by {EDITOR}" in (card.plain or "")
    approve = _button(card, "Approve")
    change_id = _change_id(card)
    ru = catalogs.translator("ru")
    messages, alert = await _press(bot, EDITOR, await _own_message(bot, EDITOR), approve)
    # Editors do not review (their own change or anyone's); a stranger's press is refused too.
    assert messages == [] and alert == ru._("Only the bot's owners can do this.")
    messages, alert = await _press(bot, STRANGER, await _own_message(bot, STRANGER), approve)
    assert messages == [] and alert == "Only the bot's owners can do this."
    assert await _national(sandbox) == before
    # /pending shows it.
    pending = _text(await bot.send(OWNER, "/pending"))
    assert "1 change is waiting for review." in pending
    # An owner approves: it counts now, the author is told, a second press changes nothing.
    done = await bot.press(OWNER, card.message_id, approve)
    assert any("approved" in (m.plain or "") for m in done)
    after = await _national(sandbox)
    assert after.civilian_injured == before.civilian_injured + 1
    told = [m for m in bot.emulator.sent if m.chat_id == EDITOR][-1]
    assert told.plain == ru._("Your change {id} was approved by {user}.").format(
        id=change_id, user=OWNER
    )
    second = cards[SECOND_OWNER]
    await bot.press(
        SECOND_OWNER, second.message_id, _button(second, ru.pgettext("button", "Approve"))
    )
    assert await _national(sandbox) == after
    assert "Nothing is waiting for review." in _text(await bot.send(OWNER, "/pending"))
    # The incident's history names the editor as author and the owner as approver.
    async with sandbox.store.db.read() as connection:
        incident_id = await connection.scalar(select(func.max(Incident.id)))
    history = _text(await bot.send(OWNER, f"/history {incident_id}"))
    assert f"recorded by user {EDITOR}" in history
    assert f"approved by user {OWNER}" in history


async def test_a_rejected_or_withdrawn_change_applies_nothing(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    await _editor(bot, EDITOR)
    await _editor(bot, OTHER_EDITOR)
    before = await _national(sandbox)
    sent_before = len(bot.emulator.sent)
    await bot.send(EDITOR, '/retract 1 reason="not a mine incident"')
    card = next(m for m in bot.emulator.sent[sent_before:] if m.chat_id == OWNER)
    assert "Retraction of #1" in (card.plain or "")
    # Editors do not review: another editor can neither list nor decide it.
    az = catalogs.translator("az")
    refused = az._("Only the bot's owners can do this.")
    assert _text(await bot.send(OTHER_EDITOR, "/pending")) == refused
    reject = card.buttons[1]["callback_data"]
    own = await _own_message(bot, OTHER_EDITOR)
    assert await _press(bot, OTHER_EDITOR, own, reject) == ([], refused)
    # An owner rejects it from /pending.
    listing = await bot.send(OWNER, "/pending")
    change_card = listing[-1]
    rejected = await bot.press(OWNER, change_card.message_id, _button(change_card, "Reject"))
    verdict = f"Change {_change_id(card)} rejected: nothing was applied."
    assert any(verdict in (m.plain or "") for m in rejected)
    assert await _national(sandbox) == before
    # A proposal withdrawn by its author.
    proposal = only(await bot.send(EDITOR, '/edit 1 civilian_killed=2 reason="ANAMA"'))
    assert await _count(sandbox, Change) >= 2
    pending = _text(await bot.send(OWNER, "/pending"))
    assert "Correction of #1" in pending and "civilians killed: 1 → 2" in pending
    assert "date:" not in pending and "Reason: ANAMA" in pending
    withdrawn = only(
        await bot.press(EDITOR, proposal.message_id, proposal.buttons[0]["callback_data"])
    )
    assert withdrawn.plain is not None
    assert await _national(sandbox) == before
    assert "Nothing is waiting for review." in _text(await bot.send(OWNER, "/pending"))


async def test_a_change_to_an_incident_edited_meanwhile_is_not_applied(
    bot: EmulatedBot, sandbox: Services
) -> None:
    await _editor(bot, EDITOR)
    incident_id = await _added(bot)
    sent_before = len(bot.emulator.sent)
    await bot.send(EDITOR, f'/edit {incident_id} civilian_injured=3 reason="report"')
    card = next(m for m in bot.emulator.sent[sent_before:] if m.chat_id == OWNER)
    await bot.send(OWNER, f'/edit {incident_id} civilian_injured=2 reason="owner fix"')
    change_id = _change_id(card)
    sent_before = len(bot.emulator.sent)
    messages, alert = await _press(bot, OWNER, card.message_id, _button(card, "Approve"))
    closed = (
        f"Change {change_id} can no longer be applied and is closed: #{incident_id} has changed"
    )
    assert (messages[0].plain or "").startswith(closed) and alert is None
    # The author is told (in Russian), nothing waits any more, and the history says what happened.
    told = [m for m in bot.emulator.sent[sent_before:] if m.chat_id == EDITOR]
    assert len(told) == 1 and str(change_id) in (told[0].plain or "")
    assert "Nothing is waiting for review." in _text(await bot.send(OWNER, "/pending"))
    history = _text(await bot.send(OWNER, f"/history {incident_id}"))
    assert "1 → 2" in history and "→ 3" not in history
    assert "proposed change closed: it could no longer be applied" in history


async def test_forged_review_and_undo_data_are_refused(bot: EmulatedBot, sandbox: Services) -> None:
    incident_id = await _added(bot)
    before = await _national(sandbox)
    audit = await _count(sandbox, AuditEntry)
    own = await _own_message(bot, STRANGER)
    for data in (f"undo|i|{incident_id}", "rv|a|1", "rv|r|1", "draft|s|0123456789ab", "undo|c|1"):
        messages, alert = await _press(bot, STRANGER, own, data)
        who = "owners" if data.startswith("rv|") else "admins"
        assert messages == [] and alert == f"Only the bot's {who} can do this."
    mine = await _own_message(bot, OWNER)
    for data in (
        "undo|i|abc",
        "undo|x|1",
        "rv|a|-1",
        "rv|z|1",
        "draft|s|ZZZ",
        "undo|i|" + "9" * 40,
    ):
        messages, alert = await _press(bot, OWNER, mine, data)
        assert messages == [] and alert == "This button is no longer valid. Send the command again."
    assert await _national(sandbox) == before
    assert await _count(sandbox, AuditEntry) == audit


async def test_in_a_group_only_an_admins_own_commands_act(
    bot: EmulatedBot, sandbox: Services
) -> None:
    group = -100_777
    bot.emulator.add_group_chat(group, title="Newsroom", member_ids=(OWNER, STRANGER))
    before = await _national(sandbox)
    refused = only(await bot.send(STRANGER, ADD, chat_id=group))
    assert refused.plain == "Only the bot's admins can do this."
    assert await _national(sandbox) == before
    saved = only(await bot.send(OWNER, ADD, chat_id=group))
    assert (saved.plain or "").startswith("Saved as #")
    # A stranger in the group pressing the owner's Undo changes nothing.
    messages, alert = await _press(
        bot, STRANGER, saved.message_id, _button(saved, "Undo"), chat_id=group
    )
    assert messages == [] and alert == "Only the bot's admins can do this."
    assert (await _national(sandbox)).total == before.total + 1


# -- official totals ------------------------------------------------------------------------------


async def test_an_official_total_is_recorded_and_shown_by_stats(
    bot: EmulatedBot, sandbox: Services
) -> None:
    totals = await _count(sandbox, OfficialTotal)
    text = _text(
        await bot.send(
            OWNER,
            "/official as_of=2026-11-01 total=410 civilian_killed=60 civilian_injured=140 "
            "military_killed=20 military_injured=190 source=https://anama.gov.az/news/410",
        )
    )
    assert "Official figure saved" in text
    assert "ANAMA (Mine Action Agency), as of November 1, 2026" in text
    assert await _count(sandbox, OfficialTotal) == totals + 1
    stats = _text(await bot.send(OWNER, "/stats"))
    assert "410" in stats and "November 1, 2026" in stats


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "/official as_of=2023-06-16 total=305 civilian_killed=44 civilian_injured=99 "
            "military_killed=13 military_injured=148 source=https://x.az/a",
            "The figures do not add up: civilian + military = total.",
        ),
        (
            "/official as_of=2023-06-16 killed=50 civilian_killed=44 military_killed=13 "
            "source=https://x.az/a",
            "civilian_killed + military_killed = killed",
        ),
        ("/official total=5 source=https://x.az/a", "as_of: required."),
        ("/official as_of=2023-06-16 total=5", "source: required."),
        ("/official as_of=2023-06-16 source=https://x.az/a", "Give at least one figure."),
        (
            "/official as_of=2023-06 total=5 source=https://x.az/a",
            "as_of: “2023-06” is not a valid date",
        ),
        (
            "/official as_of=2023-06-16 total=-5 source=https://x.az/a",
            "total: “-5” is not a whole number",
        ),
        (
            "/official as_of=2023-06-16 period_start=2024-01-01 total=5 source=https://x.az/a",
            "period_start: must not be after as_of.",
        ),
        ("/official as_of=2023-06-16 total=5 source=javascript:x", "is not an http(s) link"),
    ],
)
async def test_official_totals_that_do_not_add_up_are_refused(
    bot: EmulatedBot, sandbox: Services, command: str, expected: str
) -> None:
    totals = await _count(sandbox, OfficialTotal)
    text = _text(await bot.send(OWNER, command))
    assert text.startswith("Nothing was saved.")
    assert expected in text
    assert await _count(sandbox, OfficialTotal) == totals


# -- menus and help -------------------------------------------------------------------------------


def _menu(bot: EmulatedBot, user: int, lang: str) -> list[str]:
    return [
        c["command"] for c in bot.emulator.get_commands({"type": "chat", "chat_id": user}, lang)
    ]


async def test_admins_get_their_commands_in_the_menu_and_in_help(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services
) -> None:
    await bot.send(OWNER, "/start")
    assert {"add", "edit", "retract", "history", "pending", "admin"} <= set(_menu(bot, OWNER, "en"))
    assert "stats" in _menu(bot, OWNER, "ru")
    await _editor(bot, OTHER_EDITOR)
    assert "add" in _menu(bot, OTHER_EDITOR, "az")
    await bot.send(OWNER, f"/admin remove {OTHER_EDITOR}")
    assert _menu(bot, OTHER_EDITOR, "az") == []
    assert "Admin commands" in _text(await bot.send(OWNER, "/help"))
    assert "Admin commands" not in _text(await bot.send(STRANGER, "/help"))
    az = catalogs.translator("az")
    await _editor(bot, OTHER_EDITOR)
    assert az._("Admin commands") in _text(await bot.send(OTHER_EDITOR, "/help"))


# -- /stats through every change ------------------------------------------------------------------


def _stats_line(catalogs: Catalogs, lang: str, counts: Counts) -> str:
    from handlers import render

    t = catalogs.translator(lang)
    return (
        f"{render.killed_line(t, counts.killed)}: "
        f"{render.breakdown(t, counts.civilian_killed, counts.military_killed)}"
    )


@pytest.mark.parametrize(("owner", "lang"), [(OWNER, "en"), (SECOND_OWNER, "ru")])
async def test_stats_follow_add_edit_retract_and_restore(
    bot: EmulatedBot, catalogs: Catalogs, sandbox: Services, owner: int, lang: str
) -> None:
    """What a journalist reads in /stats Lachin 2026 after each admin change."""
    t = catalogs.translator(lang)
    query = "/stats Lachin 2026"

    async def shown() -> str:
        return _text(await bot.send(STRANGER, query))

    empty = await shown()
    assert "No incidents are recorded for these filters." in empty
    reply = only(
        await bot.send(
            owner,
            "/add date=2026-05-04 district=Lachin civilian_killed=1 military_injured=2 "
            "source=https://a.az/stats-flow",
        )
    )
    incident_id = int((reply.plain or "").split("#")[1].split()[0])
    text = await shown()
    assert "3 people killed or injured" in text
    assert _stats_line(catalogs, "en", Counts(1, 0, 0, 2)) in text
    await bot.send(owner, f'/edit {incident_id} civilian_killed=2 reason="{t._("note")}"')
    text = await shown()
    assert "4 people killed or injured" in text
    assert _stats_line(catalogs, "en", Counts(2, 0, 0, 2)) in text
    await bot.send(owner, f'/retract {incident_id} reason="duplicate"')
    assert await shown() == empty
    await bot.send(owner, f"/restore {incident_id}")
    assert "4 people killed or injured" in await shown()


async def test_editing_a_sent_command_does_not_apply_it_again(
    bot: EmulatedBot, sandbox: Services
) -> None:
    from bot.harness import TrackedApplication

    app = bot.app
    assert isinstance(app, TrackedApplication)
    command = (
        "/official as_of=2026-10-01 total=400 source=https://anama.gov.az/news/400 issuer=ANAMA"
    )
    update = bot.emulator.user_sends(OWNER, command)
    await app.expect(update["update_id"])
    totals = await _count(sandbox, OfficialTotal)
    edited = await bot.edit(OWNER, update["message"]["message_id"], command.replace("400", "401"))
    assert [m.plain for m in edited] == [
        "An edited command is not run again: send it as a new message."
    ]
    assert await _count(sandbox, OfficialTotal) == totals


async def test_cancel_with_nothing_to_cancel(bot: EmulatedBot) -> None:
    assert _text(await bot.send(STRANGER, "/cancel")) == "There is nothing to cancel."


async def test_a_second_figure_of_one_issuer_for_one_day_is_refused(
    bot: EmulatedBot, sandbox: Services
) -> None:
    command = "/official as_of=2026-09-01 total=399 source=https://anama.gov.az/news/399"
    assert "Official figure saved" in _text(await bot.send(OWNER, command))
    totals = await _count(sandbox, OfficialTotal)
    text = _text(await bot.send(OWNER, command.replace("399", "398")))
    assert "already recorded or waiting for review" in text
    assert await _count(sandbox, OfficialTotal) == totals
    # Waiting for review counts too.
    await _editor(bot, EDITOR)
    other_day = command.replace("2026-09-01", "2026-09-02")
    await bot.send(EDITOR, other_day)
    text = _text(await bot.send(OWNER, other_day))
    assert "already recorded or waiting for review" in text


async def test_with_review_off_an_editors_changes_apply_at_once(
    bot: EmulatedBot, sandbox: Services
) -> None:
    access = bot.services.store.access
    policy = access.policy
    access.policy = replace(policy, review_required=False)
    try:
        await _editor(bot, EDITOR)
        before = await _national(sandbox)
        incident_id = await _added(bot, EDITOR)
        assert (await _national(sandbox)).total == before.total + 1
        await bot.send(EDITOR, f'/retract {incident_id} reason="test"')
        assert await _national(sandbox) == before
        assert "Nothing is waiting for review." in _text(await bot.send(OWNER, "/pending"))
    finally:
        access.policy = policy


async def test_a_long_history_fits_in_one_message(bot: EmulatedBot, sandbox: Services) -> None:
    incident_id = await _added(bot)
    reason = "r" * 400
    for n in range(2, 22):
        await bot.send(OWNER, f'/edit {incident_id} civilian_injured={n} reason="{reason}"')
    reply = only(await bot.send(OWNER, f"/history {incident_id}"))
    text = reply.plain or ""
    assert f"#{incident_id}, version 21" in text
    assert "earlier entries are not shown" in text
    assert "civilians injured: 20 → 21" in text  # the latest change is always there


# -- limits found in review -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "/history 3000000000",
        "/history 99999999999999999999999",
        "/edit 3000000000 civilian_killed=1 reason=x",
        "/retract 3000000000 reason=x",
        "/restore 3000000000",
    ],
)
async def test_numbers_past_any_record_are_refused_plainly(
    bot: EmulatedBot, sandbox: Services, command: str
) -> None:
    text = _text(await bot.send(OWNER, command))
    assert "is not a number like 12." in text
    assert "Sorry" not in text


async def test_buttons_naming_numbers_past_any_record_are_expired(
    bot: EmulatedBot, sandbox: Services
) -> None:
    mine = await _own_message(bot, OWNER)
    for data in ("rv|a|3000000000", "undo|i|3000000000", "undo|c|3000000000"):
        assert await _press(bot, OWNER, mine, data) == (
            [],
            "This button is no longer valid. Send the command again.",
        )


async def test_undo_is_only_for_the_author_of_a_new_incident(
    bot: EmulatedBot, sandbox: Services
) -> None:
    before = await _national(sandbox)
    mine = await _own_message(bot, OWNER)
    # A dataset incident cannot be "undone" (a retraction needs a reason).
    assert await _press(bot, OWNER, mine, "undo|i|3") == ([], "Only its author can undo this (3).")
    group = -100_778
    bot.emulator.add_group_chat(group, title="Desk", member_ids=(OWNER, SECOND_OWNER))
    saved = only(await bot.send(OWNER, ADD, chat_id=group))
    incident_id = int((saved.plain or "").split("#")[1].split()[0])
    messages, alert = await _press(
        bot, SECOND_OWNER, saved.message_id, _button(saved, "Undo"), chat_id=group
    )
    assert messages == [] and alert is not None and str(incident_id) in alert
    assert (await _national(sandbox)).total == before.total + 1


async def test_official_parts_larger_than_the_whole_are_refused(
    bot: EmulatedBot, sandbox: Services
) -> None:
    for figures, sums in (
        ("total=10 civilian_killed=44", "civilian + military = total"),
        ("total=10 killed=500", "killed + injured = total"),
    ):
        text = _text(
            await bot.send(OWNER, f"/official as_of=2025-02-01 {figures} source=https://x.az/p")
        )
        assert text.startswith("Nothing was saved.") and sums in text


async def test_long_links_and_wide_characters_stay_within_telegrams_limits(
    bot: EmulatedBot, sandbox: Services
) -> None:
    """Replies are checked by the emulator: over 4,096 UTF-16 units, Telegram refuses them."""
    incident_id = await _added(bot)
    for n in range(2):
        url = f"https://example.org/{n}/" + "a" * 2020
        text = _text(await bot.send(OWNER, f'/edit {incident_id} source={url} reason="link"'))
        assert "corrected" in text
    note = "😀" * 1000
    await bot.send(OWNER, f'/edit {incident_id} note="{note}" reason="{"😀" * 499}"')
    for n in range(5):
        await bot.send(OWNER, f'/edit {incident_id} civilian_injured={n + 2} reason="{"😀" * 499}"')
    history = only(await bot.send(OWNER, f"/history {incident_id}"))
    assert f"#{incident_id}, version 9" in (history.plain or "")
    assert "civilians injured: 5 → 6" in (history.plain or "")


async def test_a_refused_attempt_is_logged_with_who_and_where(
    bot: EmulatedBot, sandbox: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="handlers.auth"):
        await bot.send(STRANGER, "/retract 1 reason=x")
        mine = await _own_message(bot, STRANGER)
        await _press(bot, STRANGER, mine, "rv|a|1")
    lines = [r.getMessage() for r in caplog.records if r.name == "handlers.auth"]
    assert (
        f"refused /retract: user_id={STRANGER} chat_id={STRANGER} role=NONE needed=EDITOR" in lines
    )
    assert (
        f"refused review button: user_id={STRANGER} chat_id={STRANGER} role=NONE needed=OWNER"
        in (lines)
    )
