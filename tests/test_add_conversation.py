"""The guided /add, end to end through the Bot API emulator, in English and Russian.

Every question, re-ask, preview and button goes through the real Application; the emulator checks
each request against the Bot API description and Telegram's HTML parser. Tests that store
something use ``sandbox``, which deletes it afterwards so that other tests' figures stay right.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.config import Settings
from bot.emulator import SentMessage
from bot.harness import EmulatedBot
from db import chats, queries
from db.domain.drafts import COUNT_FIELDS
from db.domain.figures import Counts
from db.domain.filters import IncidentFilter
from db.domain.gazetteer import Gazetteer
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision, Device
from db.domain.validation import MAX_NOTE, FormProblem
from db.models import Change, Chat, Incident
from handlers.add_answers import Rejected, parse_counts
from handlers.add_conversation import build_add_conversation
from handlers.callbacks import MAX_CALLBACK_BYTES, AddAction, AddButton, AddStep
from handlers.context import Services
from handlers.render import DEVICE_LABELS
from handlers.render.conversation import question
from handlers.render.problems import problem_text, refused_text
from locales.i18n import Catalogs, Translator
from tests.conftest import ADMIN_ID, emulated_bot, only

LANGUAGES = ("en", "ru")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, "123456789:ADD-CONVERSATION") as running:
        yield running


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def baseline(bot: EmulatedBot) -> tuple[Counts, int]:
    """The national figures before this module stored anything."""
    return await _figures(bot.services)


async def _figures(services: Services) -> tuple[Counts, int]:
    async with services.store.db.read() as connection:
        stats = await queries.stats(connection, IncidentFilter(), latest=False)
    return stats.counts, stats.incidents


async def _pending_changes(services: Services) -> int:
    async with services.store.db.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(Change)) or 0)


def _text(message: SentMessage) -> str:
    assert message.plain is not None
    return message.plain


def _data(message: SentMessage, label: str) -> str:
    for button in message.buttons:
        if button["text"] == label:
            return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {[b['text'] for b in message.buttons]}")


class Chatter:
    """One user in their private chat with the bot, in one language."""

    def __init__(self, bot: EmulatedBot, user_id: int, t: Translator) -> None:
        self.bot = bot
        self.user_id = user_id
        self.t = t

    @property
    def gazetteer(self) -> Gazetteer:
        return self.bot.services.gazetteer

    def button(self, label: str) -> str:
        return self.t.pgettext("button", label)

    async def send(self, text: str) -> SentMessage:
        return only(await self.bot.send(self.user_id, text))

    async def send_all(self, text: str) -> list[SentMessage]:
        return await self.bot.send(self.user_id, text)

    async def press(self, message: SentMessage, label: str) -> SentMessage:
        """Press the button labelled ``label``: the message is edited in place."""
        edited = only(await self.bot.press(self.user_id, message.message_id, _data(message, label)))
        assert edited.method == "editMessageText"
        assert edited.message_id == message.message_id
        return edited

    async def press_data(self, message: SentMessage, data: str) -> list[SentMessage]:
        return await self.bot.press(self.user_id, message.message_id, data)

    def alerts_since(self, before: int) -> list[dict[str, Any]]:
        return [
            r.params
            for r in self.bot.emulator.requests[before:]
            if r.method == "answerCallbackQuery"
        ]

    def district(self, key: str) -> str:
        district_id = self.gazetteer.by_key(key)
        assert district_id is not None
        return self.gazetteer.name(district_id, self.t.lang)

    def device(self, device: Device) -> str:
        label = self.t._(DEVICE_LABELS[device])
        return label[:1].upper() + label[1:]

    def problem(self, kind: ProblemKind, key: str | None, value: str = "", *hints: int) -> str:
        return problem_text(self.t, self.gazetteer, FormProblem(kind, key, value, hints))


@pytest_asyncio.fixture(loop_scope="session")
async def chat_language(bot: EmulatedBot) -> AsyncIterator[Callable[[int, str], Awaitable[None]]]:
    """Set a chat's stored language for the test; put back as it was afterwards."""
    db = bot.services.store.db
    before: dict[int, str | None] = {}

    async def use(chat_id: int, lang: str) -> None:
        async with db.transaction() as session:
            if chat_id not in before:
                before[chat_id] = await chats.chat_language(session, chat_id)
            await chats.set_chat_language(session, chat_id, lang)

    yield use
    async with db.transaction() as session:
        for chat_id, lang in before.items():
            if lang is None:
                row = await session.get(Chat, chat_id)
                if row is not None:
                    await session.delete(row)
            else:
                await chats.set_chat_language(session, chat_id, lang)


@pytest_asyncio.fixture(loop_scope="session")
async def owner_of(
    bot: EmulatedBot, catalogs: Catalogs, chat_language: Callable[[int, str], Awaitable[None]]
) -> AsyncIterator[Callable[[str], Awaitable[Chatter]]]:
    """The owner (ADMIN_ID) in a language; their conversation is cancelled afterwards."""

    async def make(lang: str) -> Chatter:
        bot.emulator.add_private_chat(ADMIN_ID, first_name="Owner", language_code=lang)
        await chat_language(ADMIN_ID, lang)
        return Chatter(bot, ADMIN_ID, catalogs.translator(lang))

    yield make
    await bot.send(ADMIN_ID, "/cancel")


async def _to_preview(
    admin: Chatter,
    *,
    date: str,
    district: str,
    counts: str,
    source: str,
    place: str | None = None,
    device: Device = Device.ANTIPERSONNEL,
    note: str | None = None,
) -> SentMessage:
    """Answer every question (the date, place, counts, source and note typed; the district and
    device pressed); returns the preview."""
    prompt = await admin.send("/add")
    assert question(admin.t, AddStep.DATE) in _text(prompt)
    prompt = await admin.send(date)
    assert question(admin.t, AddStep.DISTRICT) in _text(prompt)
    prompt = await admin.press(prompt, admin.district(district))
    assert question(admin.t, AddStep.PLACE) in _text(prompt)
    prompt = (
        await admin.press(prompt, admin.button("Skip"))
        if place is None
        else await admin.send(place)
    )
    assert question(admin.t, AddStep.COUNTS) in _text(prompt)
    prompt = await admin.send(counts)
    assert question(admin.t, AddStep.DEVICE) in _text(prompt)
    prompt = await admin.press(prompt, admin.device(device))
    assert question(admin.t, AddStep.SOURCE) in _text(prompt)
    prompt = await admin.send(source)
    assert question(admin.t, AddStep.NOTE) in _text(prompt)
    preview = (
        await admin.press(prompt, admin.button("Skip")) if note is None else await admin.send(note)
    )
    assert admin.t._("Not saved yet") in _text(preview)
    assert [b["text"] for b in preview.buttons] == [
        admin.button("Confirm"),
        admin.button("Edit"),
        admin.button("Cancel"),
    ]
    return preview


# -- the whole way ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_an_owner_adds_an_incident_step_by_step(
    bot: EmulatedBot,
    sandbox: Services,
    baseline: tuple[Counts, int],
    owner_of: Callable[[str], Awaitable[Chatter]],
    lang: str,
) -> None:
    admin = await owner_of(lang)
    t = admin.t
    counts_before, incidents_before = await _figures(bot.services)
    day = dt.date(2021, 2, 3) if lang == "en" else dt.date(2021, 2, 4)
    url = f"https://example.org/guided-{lang}"
    preview = await _to_preview(
        admin,
        date=day.strftime("%d.%m.%Y"),
        district="goranboy",
        place="Tapqaraqoyunlu",
        counts="0 2 1 0",
        source=url,
        note="Two <b>shepherds</b> & a soldier",
    )
    text = _text(preview)
    assert t.date(day) in text
    assert f"{admin.district('goranboy')}, Tapqaraqoyunlu" in text
    assert t.ngettext("{n} civilian injured", "{n} civilians injured", 2).format(n=2) in text
    assert t.ngettext("{n} military killed", "{n} military killed", 1).format(n=1) in text
    assert t._(DEVICE_LABELS[Device.ANTIPERSONNEL]) in text
    # The note is shown as typed: its markup was escaped, not interpreted.
    assert "Two <b>shepherds</b> & a soldier" in text
    bold = [
        text[e["offset"] : e["offset"] + e["length"]]
        for e in preview.entities
        if e["type"] == "bold"
    ]
    assert not [b for b in bold if "shepherds" in b]
    # Nothing is stored before Confirm.
    assert await _figures(bot.services) == (counts_before, incidents_before)

    saved = await admin.press(preview, admin.button("Confirm"))
    assert t._("Saved as #{id}").split("#")[0] in _text(saved)
    assert [b["text"] for b in saved.buttons] == [admin.button("Undo")]
    counts, incidents = await _figures(bot.services)
    assert incidents == incidents_before + 1
    assert counts.civilian_injured == counts_before.civilian_injured + 2
    assert counts.military_killed == counts_before.military_killed + 1
    assert counts.civilian_killed == counts_before.civilian_killed
    assert counts.military_injured == counts_before.military_injured
    async with bot.services.store.db.read() as connection:
        row = (
            await connection.execute(
                select(
                    Incident.date,
                    Incident.date_precision,
                    Incident.settlement,
                    Incident.device,
                    Incident.description,
                ).order_by(Incident.id.desc())
            )
        ).first()
    assert row is not None
    assert row[0] == day
    assert DatePrecision(row[1]) is DatePrecision.DAY
    assert row[2] == "Tapqaraqoyunlu"
    assert Device(row[3]) is Device.ANTIPERSONNEL
    assert row[4] == "Two <b>shepherds</b> & a soldier"
    # /stats counts it (in the reader's words).
    stats = _text(await admin.send(f"/stats {admin.district('goranboy')} 2021"))
    assert (
        t.ngettext("{n} person killed or injured", "{n} people killed or injured", 3).format(n=3)
        in stats
    )
    # The conversation is over: plain text is read as /stats filters again.
    assert admin.district("goranboy") in _text(await admin.send(admin.district("goranboy")))
    # The buttons of the preview are gone; an old one pressed again is refused as expired.
    before = len(bot.emulator.requests)
    assert await admin.press_data(saved, _data(preview, admin.button("Confirm"))) == []
    assert admin.alerts_since(before)[-1].get("show_alert")
    assert await _figures(bot.services) == (counts, incidents)


# -- answers asked again ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_wrong_answer_is_named_and_asked_again(
    bot: EmulatedBot, owner_of: Callable[[str], Awaitable[Chatter]], lang: str
) -> None:
    admin = await owner_of(lang)
    t = admin.t
    before = await _figures(bot.services)
    not_accepted = t._("Not accepted:")

    async def rejected(answer: str, step: AddStep, *problems: str) -> SentMessage:
        reask = await admin.send(answer)
        text = _text(reask)
        assert not_accepted in text, text
        for problem in problems:
            assert problem in text, (problem, text)
        assert question(t, step) in text  # the same question again
        return reask

    await admin.send("/add")
    future = (dt.datetime.now(bot.services.settings.tz).date() + dt.timedelta(days=400)).isoformat()
    await rejected(
        "2023-02-30", AddStep.DATE, admin.problem(ProblemKind.BAD_DATE, "date", "2023-02-30")
    )
    await rejected(future, AddStep.DATE, admin.problem(ProblemKind.FUTURE_DATE, "date", future))
    await rejected("1850", AddStep.DATE, admin.problem(ProblemKind.TOO_OLD, "date", "1850"))
    await rejected("yesterday-ish", AddStep.DATE)
    district_prompt = await admin.send("2022-05")
    assert t.date(dt.date(2022, 5, 1), DatePrecision.MONTH) in _text(district_prompt)

    gazetteer = admin.gazetteer
    await rejected(
        "Atlantis",
        AddStep.DISTRICT,
        admin.problem(
            ProblemKind.UNKNOWN_DISTRICT, "district", "Atlantis", *gazetteer.suggest("Atlantis")
        ),
    )
    suggested = gazetteer.suggest("Kalbajarr")
    assert suggested[0] == gazetteer.by_key("kalbajar")
    reask = await rejected(
        "Kalbajarr",
        AddStep.DISTRICT,
        admin.problem(ProblemKind.UNKNOWN_DISTRICT, "district", "Kalbajarr", *suggested),
    )
    # The suggestion comes first among the buttons.
    assert reask.buttons[0]["text"] == admin.district("kalbajar")
    # Typing a name in any language (or an alias) works.
    place_prompt = await admin.send("кельбаджар" if lang == "en" else "Kəlbəcər")
    assert admin.district("kalbajar") in _text(place_prompt)

    await rejected("x" * 300, AddStep.PLACE, admin.problem(ProblemKind.TOO_LONG, "place", "", 200))
    await admin.send("  Seyidlar   village ")

    await rejected(
        "-1 0 0 0",
        AddStep.COUNTS,
        admin.problem(ProblemKind.BAD_NUMBER, "civilian_killed", "-1"),
    )
    await rejected(
        "0 5000 0 0",
        AddStep.COUNTS,
        admin.problem(ProblemKind.TOO_LARGE, "civilian_injured", "5000", 1000),
    )
    await rejected("0 0 0 0", AddStep.COUNTS, admin.problem(ProblemKind.NO_CASUALTIES, None))
    await rejected(
        "1 2",
        AddStep.COUNTS,
        t.ngettext(
            "{n} number was sent; four are needed, one for each category.",
            "{n} numbers were sent; four are needed, one for each category.",
            2,
        ).format(n=2),
    )
    await rejected(
        "civilian_injured=two",
        AddStep.COUNTS,
        admin.problem(ProblemKind.BAD_NUMBER, "civilian_injured", "two"),
    )
    await rejected("wounded=1", AddStep.COUNTS, admin.problem(ProblemKind.UNKNOWN_KEY, "wounded"))
    device_prompt = await admin.send("military_injured=2")
    assert t.ngettext("{n} military injured", "{n} military injured", 2).format(n=2) in _text(
        device_prompt
    )

    await rejected(
        "laser", AddStep.DEVICE, admin.problem(ProblemKind.UNKNOWN_DEVICE, "device", "laser")
    )
    # A device typed by its label in the reader's language works.
    source_prompt = await admin.send(t._(DEVICE_LABELS[Device.UXO]).upper())
    assert t._(DEVICE_LABELS[Device.UXO]) in _text(source_prompt)

    await rejected(
        "javascript:alert(1)",
        AddStep.SOURCE,
        admin.problem(ProblemKind.BAD_URL, "source", "javascript:alert(1)"),
    )
    await rejected(
        "example.org/report",
        AddStep.SOURCE,
        admin.problem(ProblemKind.BAD_URL, "source", "example.org/report"),
    )
    await admin.send("https://example.org/reask")

    await rejected(
        "n" * 5000, AddStep.NOTE, admin.problem(ProblemKind.TOO_LONG, "note", "", MAX_NOTE)
    )
    preview = await admin.send("<script>alert('x')</script> & <i>not italic</i>")
    text = _text(preview)
    assert "<script>alert('x')</script> & <i>not italic</i>" in text
    assert not [e for e in preview.entities if e["type"] == "italic"]
    assert "Seyidlar village" in text  # white space tidied
    # A text sent to the preview gets it again, with a word about the buttons.
    again = await admin.send("ok")
    assert t._("Please use the buttons under the card: Confirm, Edit or Cancel.") in _text(again)
    assert _data(again, admin.button("Confirm")) == _data(preview, admin.button("Confirm"))
    cancelled = await admin.press(again, admin.button("Cancel"))
    assert _text(cancelled) == t._("Cancelled. Nothing was saved.")
    assert cancelled.buttons == []
    assert await _figures(bot.services) == before


async def test_skip_and_the_quick_buttons(
    bot: EmulatedBot, owner_of: Callable[[str], Awaitable[Chatter]]
) -> None:
    admin = await owner_of("en")
    before = await _figures(bot.services)
    prompt = await admin.send("/add")
    assert [b["text"] for b in prompt.buttons] == ["Today", "Yesterday", "Cancel"]
    prompt = await admin.press(prompt, "Yesterday")
    yesterday = dt.datetime.now(bot.services.settings.tz).date() - dt.timedelta(days=1)
    assert f"✓ date: {admin.t.date(yesterday)}" in _text(prompt)
    # Every district, sorted for the reader, three to a row.
    names = [b["text"] for b in prompt.buttons[:-1]]
    gazetteer = admin.gazetteer
    assert names == [gazetteer.name(d, "en") for d in gazetteer.sorted_ids("en")]
    assert len(prompt.reply_markup["inline_keyboard"][0]) == 3  # type: ignore[index]
    prompt = await admin.press(prompt, "Lachin")
    prompt = await admin.press(prompt, "Skip")
    assert "✓ place: —" in _text(prompt)
    assert [b["text"] for b in prompt.buttons] == [
        "1 civilian killed",
        "1 civilian injured",
        "1 military killed",
        "1 military injured",
        "Cancel",
    ]
    prompt = await admin.press(prompt, "1 military injured")
    assert "✓ 1 military injured" in _text(prompt)
    assert [b["text"] for b in prompt.buttons] == [
        "Anti-personnel mine",
        "Anti-vehicle mine",
        "Improvised explosive device",
        "Unexploded ordnance",
        "Device not stated",
        "Cancel",
    ]
    prompt = await admin.press(prompt, "Device not stated")
    prompt = await admin.send("https://example.org/quick")
    preview = await admin.press(prompt, "Skip")
    text = _text(preview)
    assert "✓ note: —" in text
    assert f"{admin.t.date(yesterday)} · Lachin\n" in text
    assert "1 military injured · device not stated" in text
    assert "Note:" not in text
    cancelled = await admin.press(preview, "Cancel")
    assert _text(cancelled) == "Cancelled. Nothing was saved."
    assert await _figures(bot.services) == before


# -- Edit from the preview -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_edit_returns_to_a_field_then_to_the_preview(
    bot: EmulatedBot,
    sandbox: Services,
    owner_of: Callable[[str], Awaitable[Chatter]],
    lang: str,
) -> None:
    admin = await owner_of(lang)
    t = admin.t
    preview = await _to_preview(
        admin,
        date="2019",
        district="zangilan",
        place="Old road",
        counts="1 0 0 0",
        source=f"https://example.org/edit-{lang}",
        note="first note",
    )
    assert t.date(dt.date(2019, 1, 1), DatePrecision.YEAR) in _text(preview)
    fields = await admin.press(preview, admin.button("Edit"))
    assert t._("What should be changed?") in _text(fields)
    labels = ["Date", "District", "Place", "Casualties", "Device", "Source", "Note", "‹ Back"]
    assert [b["text"] for b in fields.buttons] == [admin.button(label) for label in labels]

    # A district pressed: straight back to the preview, in the same message.
    asked = await admin.press(fields, admin.button("District"))
    assert question(t, AddStep.DISTRICT) in _text(asked)
    assert t._("New incident, correction") in _text(asked)
    assert asked.buttons[-1]["text"] == admin.button("‹ Back")
    preview = await admin.press(asked, admin.district("jabrayil"))
    assert admin.district("jabrayil") in _text(preview)
    assert t._("Not saved yet") in _text(preview)

    # Counts typed (a wrong answer first): the preview follows as a new message.
    fields = await admin.press(preview, admin.button("Edit"))
    await admin.press(fields, admin.button("Casualties"))
    reask = await admin.send("0 0 0")
    assert t._("New incident, correction") in _text(reask)
    preview = await admin.send("0 0 0 3")
    assert t.ngettext("{n} military injured", "{n} military injured", 3).format(n=3) in _text(
        preview
    )
    assert t.ngettext("{n} civilian killed", "{n} civilians killed", 1).format(n=1) not in _text(
        preview
    )

    # The place emptied; Back changes nothing.
    fields = await admin.press(preview, admin.button("Edit"))
    asked = await admin.press(fields, admin.button("Place"))
    preview = await admin.press(asked, admin.button("Leave empty"))
    assert "Old road" not in _text(preview)
    fields = await admin.press(preview, admin.button("Edit"))
    asked = await admin.press(fields, admin.button("Note"))
    unchanged = await admin.press(asked, admin.button("‹ Back"))
    assert "first note" in _text(unchanged)
    fields = await admin.press(unchanged, admin.button("Edit"))
    preview = await admin.press(fields, admin.button("‹ Back"))
    assert _text(preview) == _text(unchanged)

    counts_before, incidents_before = await _figures(bot.services)
    saved = await admin.press(preview, admin.button("Confirm"))
    assert [b["text"] for b in saved.buttons] == [admin.button("Undo")]
    counts, incidents = await _figures(bot.services)
    assert incidents == incidents_before + 1
    assert counts.military_injured == counts_before.military_injured + 3
    assert counts.civilian_killed == counts_before.civilian_killed
    async with bot.services.store.db.read() as connection:
        row = (
            await connection.execute(
                select(Incident.district_id, Incident.settlement, Incident.description).order_by(
                    Incident.id.desc()
                )
            )
        ).first()
    assert row is not None
    assert tuple(row) == (admin.gazetteer.by_key("jabrayil"), None, "first note")


# -- stopping --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_cancel_in_the_middle_stores_nothing(
    bot: EmulatedBot, owner_of: Callable[[str], Awaitable[Chatter]], lang: str
) -> None:
    admin = await owner_of(lang)
    before = await _figures(bot.services)
    changes_before = await _pending_changes(bot.services)
    first = await admin.send("/add")
    prompt = await admin.send("2022-01-18")
    prompt = await admin.press(prompt, admin.district("gazakh"))
    await admin.send("Bala Jafarli")
    assert _text(await admin.send("/cancel")) == admin.t._("Cancelled. Nothing was saved.")
    assert await _figures(bot.services) == before
    assert await _pending_changes(bot.services) == changes_before
    # Over: text is read as /stats filters, and the old buttons are refused as expired.
    stats = _text(await admin.send(admin.district("gazakh")))
    assert admin.t._("Filters: {filters}").split("{")[0] in stats
    requests = len(bot.emulator.requests)
    assert await admin.press_data(first, _data(first, admin.button("Today"))) == []
    alert = admin.alerts_since(requests)[-1]
    assert alert["show_alert"]
    assert alert["text"] == admin.t._("This button is no longer valid. Send the command again.")


async def test_the_cancel_button_stops_at_any_step(
    bot: EmulatedBot, owner_of: Callable[[str], Awaitable[Chatter]]
) -> None:
    admin = await owner_of("en")
    prompt = await admin.send("/add")
    prompt = await admin.press(prompt, "Today")
    prompt = await admin.press(prompt, "Shusha")
    prompt = await admin.send("Centre")
    cancelled = await admin.press(prompt, "Cancel")
    assert _text(cancelled) == "Cancelled. Nothing was saved."
    assert "Filters: Shusha" in _text(await admin.send("Shusha"))


async def test_a_silent_conversation_times_out(
    bot: EmulatedBot, owner_of: Callable[[str], Awaitable[Chatter]]
) -> None:
    admin = await owner_of("en")
    quick = build_add_conversation(dt.timedelta(seconds=0.3))
    bot.app.handlers[0].insert(0, quick)
    try:
        prompt = await admin.send("/add")
        await admin.press(prompt, "Today")
        sent = len(bot.emulator.sent)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if len(bot.emulator.sent) > sent:
                break
        told = [m for m in bot.emulator.sent[sent:] if m.chat_id == ADMIN_ID]
        assert [_text(m) for m in told] == [
            "No answer for 1 minute: the /add in progress was dropped and nothing was saved."
        ]
        # The district typed now is read as /stats filters.
        assert "Filters: Shusha" in _text(await admin.send("Shusha"))
    finally:
        bot.app.remove_handler(quick, group=0)


# -- other commands meanwhile ----------------------------------------------------------------------


async def test_other_commands_are_answered_and_the_question_waits(
    bot: EmulatedBot, owner_of: Callable[[str], Awaitable[Chatter]]
) -> None:
    admin = await owner_of("en")
    await admin.send("/add")
    await admin.send("2023-07-13")
    stats = _text(await admin.send("/stats Kalbajar 2023"))
    assert "Filters: Kalbajar · 2023" in stats
    assert "Your user id is 4242" in _text(await admin.send("/whoami"))
    # The district question is still waiting: the name typed now answers it.
    prompt = await admin.send("Kalbajar")
    assert "✓ district: Kalbajar" in _text(prompt)
    assert question(admin.t, AddStep.PLACE) in _text(prompt)
    assert _text(await admin.send("/cancel")) == "Cancelled. Nothing was saved."


async def test_add_again_starts_over_and_old_buttons_expire(
    bot: EmulatedBot, sandbox: Services, owner_of: Callable[[str], Awaitable[Chatter]]
) -> None:
    admin = await owner_of("en")
    first = await admin.send("/add")
    await admin.send("2023-07-13")
    second = await admin.send("/add")
    assert _text(second).startswith("The /add in progress was dropped; starting again.")
    assert _data(first, "Today") != _data(second, "Today")  # another session
    requests = len(bot.emulator.requests)
    assert await admin.press_data(first, _data(first, "Today")) == []
    assert admin.alerts_since(requests)[-1]["text"] == (
        "This button is no longer valid. Send the command again."
    )
    # The new conversation goes on; the one-line form then ends it.
    prompt = await admin.press(second, "Today")
    assert question(admin.t, AddStep.DISTRICT) in _text(prompt)
    before = await _figures(bot.services)
    replies = await admin.send_all(
        "/add date=2019-06-01 district=Aghdara civilian_killed=1 source=https://example.org/one-line"
    )
    assert len(replies) == 2
    assert _text(replies[0]) == (
        "The step-by-step /add in progress was dropped; nothing from it was saved."
    )
    assert _text(replies[1]).startswith("Saved as #")
    counts, incidents = await _figures(bot.services)
    assert (counts.civilian_killed, incidents) == (before[0].civilian_killed + 1, before[1] + 1)
    assert "Filters: Kalbajar" in _text(await admin.send("Kalbajar"))


async def test_add_alone_in_a_group_points_to_the_private_chat(
    bot: EmulatedBot, owner_of: Callable[[str], Awaitable[Chatter]], user_id: int
) -> None:
    await owner_of("en")
    group = -2000 - user_id
    bot.emulator.add_group_chat(group, "Newsroom", member_ids=[ADMIN_ID])
    reply = only(await bot.send(ADMIN_ID, "/add", chat_id=group))
    assert "send /add in a private chat with me" in _text(reply)
    assert "/add date=2023-07-13 district=Kalbajar" in _text(reply)
    assert reply.buttons == []
    # Nothing waits in the group: the admin's chatter there is not taken as an answer.
    assert await bot.send(ADMIN_ID, "2023-07-13", chat_id=group) == []


# -- rights ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_reader_is_refused(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    bot.emulator.add_private_chat(user_id, first_name="Reader", language_code=lang)
    t = catalogs.translator(lang)
    assert _text(only(await bot.send(user_id, "/add"))) == refused_text(t, False)
    # Nothing started: a date sent now is read as /stats filters.
    assert t._("Filters: {filters}").split("{")[0] in _text(
        only(await bot.send(user_id, "2023-07-13"))
    )
    assert _text(
        only(await bot.send(user_id, "/add date=2023-07-13 district=Kalbajar civilian_killed=1"))
    ) == refused_text(t, False)
    # /cancel means nothing outside a conversation.
    assert _text(only(await bot.send(user_id, "/cancel"))) == t._("There is nothing to cancel.")


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_forged_buttons_are_refused_and_change_nothing(
    bot: EmulatedBot,
    catalogs: Catalogs,
    owner_of: Callable[[str], Awaitable[Chatter]],
    user_id: int,
    lang: str,
) -> None:
    admin = await owner_of("en")
    preview = await _to_preview(
        admin,
        date="2020-12-01",
        district="khojaly",
        counts="0 1 0 0",
        source="https://example.org/forged",
    )
    session = AddButton.decode(_data(preview, "Confirm"))
    assert session is not None
    before = await _figures(bot.services)
    changes_before = await _pending_changes(bot.services)

    bot.emulator.add_private_chat(user_id, first_name="Mallory", language_code=lang)
    t = catalogs.translator(lang)
    own = only(await bot.send(user_id, "/start"))
    requests = len(bot.emulator.requests)
    forged = [
        AddButton(session.session, AddAction.CONFIRM).encode(),
        AddButton(session.session, AddAction.DISTRICT, "1").encode(),
        AddButton(session.session, AddAction.CANCEL).encode(),
        AddButton("deadbeef", AddAction.TODAY).encode(),
        "addc|garbage",
    ]
    for data in forged:
        assert await bot.press(user_id, own.message_id, data) == []
    alerts = [
        r.params for r in bot.emulator.requests[requests:] if r.method == "answerCallbackQuery"
    ]
    assert [(a["text"], a["show_alert"]) for a in alerts] == [(refused_text(t, False), True)] * 5
    assert await _figures(bot.services) == before
    assert await _pending_changes(bot.services) == changes_before

    # The owner's conversation is untouched; their own forged data are refused as expired.
    requests = len(bot.emulator.requests)
    for data in (
        AddButton("deadbeef", AddAction.CONFIRM).encode(),
        AddButton(session.session, AddAction.DISTRICT, "999").encode(),
        AddButton(session.session, AddAction.COUNTS, "0000").encode(),
        AddButton(session.session, AddAction.TODAY).encode(),  # not a question of the preview
        AddButton(session.session, AddAction.FIELD, "date").encode()[:-1],
    ):
        assert await admin.press_data(preview, data) == []
    alerts = admin.alerts_since(requests)
    assert len(alerts) == 5
    assert all(
        a["text"] == "This button is no longer valid. Send the command again." for a in alerts
    )
    cancelled = await admin.press(preview, "Cancel")
    assert _text(cancelled) == "Cancelled. Nothing was saved."
    assert await _figures(bot.services) == before


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_an_editors_incident_waits_for_review(
    bot: EmulatedBot,
    sandbox: Services,
    catalogs: Catalogs,
    owner_of: Callable[[str], Awaitable[Chatter]],
    chat_language: Callable[[int, str], Awaitable[None]],
    user_id: int,
    lang: str,
) -> None:
    owner = await owner_of("en")
    assert "is now an editor" in _text(await owner.send(f"/admin add {user_id}"))
    bot.emulator.add_private_chat(user_id, first_name="Editor", language_code=lang)
    await chat_language(user_id, lang)
    editor = Chatter(bot, user_id, catalogs.translator(lang))
    before = await _figures(bot.services)
    changes_before = await _pending_changes(bot.services)
    preview = await _to_preview(
        editor,
        date="2020-12-02",
        district="lachin",
        counts="0 0 1 0",
        source=f"https://example.org/editor-{lang}",
    )
    sent = len(bot.emulator.sent)
    proposed = await editor.press(preview, editor.button("Confirm"))
    assert await _pending_changes(bot.services) == changes_before + 1
    assert editor.t._(
        "Waiting for review as change {id}: it counts nowhere until another admin approves it."
    ).split("{")[0] in _text(proposed)
    assert [b["text"] for b in proposed.buttons] == [editor.button("Undo")]
    assert await _figures(bot.services) == before  # not counted until approved
    to_owner = [m for m in bot.emulator.sent[sent:] if m.chat_id == ADMIN_ID]
    assert len(to_owner) == 1
    assert [b["text"] for b in to_owner[0].buttons] == ["Approve", "Reject"]


# -- duplicates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_possible_duplicates_need_an_explicit_confirmation(
    bot: EmulatedBot,
    sandbox: Services,
    owner_of: Callable[[str], Awaitable[Chatter]],
    lang: str,
) -> None:
    admin = await owner_of(lang)
    t = admin.t
    before = await _figures(bot.services)
    # Fuzuli on 14 November 2020 already has two incidents.
    preview = await _to_preview(
        admin,
        date="2020-11-14",
        district="fuzuli",
        counts="1 0 0 0",
        source=f"https://example.org/dup-{lang}",
    )
    shown = await admin.press(preview, admin.button("Confirm"))
    text = _text(shown)
    assert t._("Possible duplicates:") in text
    assert text.count(t._("same district and date")) == 2
    assert [b["text"] for b in shown.buttons] == [
        admin.button("Save anyway"),
        admin.button("Cancel"),
    ]
    assert await _figures(bot.services) == before
    if lang == "en":
        cancelled = await admin.press(shown, admin.button("Cancel"))
        assert _text(cancelled) == t._("Cancelled. Nothing was saved.")
        assert await _figures(bot.services) == before
    else:
        saved = await admin.press(shown, admin.button("Save anyway"))
        assert [b["text"] for b in saved.buttons] == [admin.button("Undo")]
        counts, incidents = await _figures(bot.services)
        assert (counts.civilian_killed, incidents) == (
            before[0].civilian_killed + 1,
            before[1] + 1,
        )


# -- pieces ----------------------------------------------------------------------------------------


def test_counts_are_four_numbers_or_key_value_pairs() -> None:
    assert parse_counts("0 1 0 0") == dict(zip(COUNT_FIELDS, (0, 1, 0, 0), strict=True))
    assert parse_counts(" 2, 0; 1 0 ") == dict(zip(COUNT_FIELDS, (2, 0, 1, 0), strict=True))
    assert parse_counts("military_killed=2") == dict(zip(COUNT_FIELDS, (0, 0, 2, 0), strict=True))
    for text, kinds, numbers in [
        ("0 0 0 0", [ProblemKind.NO_CASUALTIES], None),
        ("1 2 3", [], 3),
        ("", [], 0),
        ("1 x -1 0", [ProblemKind.BAD_NUMBER, ProblemKind.BAD_NUMBER], None),
        ("1001 0 0 0", [ProblemKind.TOO_LARGE], None),
        ("１ 0 0 0", [ProblemKind.BAD_NUMBER], None),  # full-width digit
        ("civilian_killed=1 civilian_killed=2", [ProblemKind.REPEATED_KEY], None),
        ("civilian_killed=1 extra", [ProblemKind.NOT_KEY_VALUE], None),
    ]:
        with pytest.raises(Rejected) as caught:
            parse_counts(text)
        assert [p.kind for p in caught.value.problems] == kinds, text
        assert caught.value.numbers_given == numbers, text


def test_button_data_round_trip_within_64_bytes() -> None:
    for button in [
        AddButton("0123abcd", AddAction.TODAY),
        AddButton("0123abcd", AddAction.DISTRICT, "14"),
        AddButton("0123abcd", AddAction.COUNTS, "0100"),
        AddButton("0123abcd", AddAction.DEVICE, "antipersonnel"),
        AddButton("0123abcd", AddAction.FIELD, "counts"),
        AddButton("0123abcd", AddAction.CONFIRM),
    ]:
        data = button.encode()
        assert len(data.encode()) <= MAX_CALLBACK_BYTES
        assert AddButton.decode(data) == button
    for data in [
        "addc|0123abcd",
        "addc|0123abcd|t|x",
        "addc|0123abcd|d",
        "addc|0123abcd|d|0",
        "addc|0123abcd|d|-1",
        "addc|0123abcd|n|01000",
        "addc|0123abcd|n|01a0",
        "addc|0123abcd|v|Anti Personnel",
        "addc|0123abcd|f|everything",
        "addc|0123abcd|ok|",
        "addc|XYZ|ok",
        "addc|0123abcd|zz",
        "inc|0123abcd|ok",
    ]:
        assert AddButton.decode(data) is None, data


@given(st.one_of(st.text(max_size=80), st.text(max_size=60).map(lambda s: "addc|" + s)))
def test_any_callback_data_decodes_or_is_refused(data: str) -> None:
    button = AddButton.decode(data)
    assert button is None or button.encode() == data


# -- last: what the tests stored is gone -----------------------------------------------------------


async def test_the_figures_are_back_after_the_sandbox(
    bot: EmulatedBot, baseline: tuple[Counts, int]
) -> None:
    """Runs after the tests that stored incidents: their sandboxes deleted them again."""
    assert await _figures(bot.services) == baseline
