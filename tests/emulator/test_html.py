"""Telegram's HTML parse mode as the emulator implements it (a port of tdlib's parse_html)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.emulator.html import (
    EntityParseError,
    TextFormatError,
    find_user_message_entities,
    message_length,
    normalize_link,
    parse_html,
    prepare_text,
    utf16_length,
)


def entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "offset": offset, "length": length, **extra}


def parse_error(text: str) -> str:
    with pytest.raises(EntityParseError) as caught:
        parse_html(text)
    return caught.value.description


# -- character entities ------------------------------------------------------------------------


def test_named_entities_decode() -> None:
    parsed = parse_html("Ali &lt;&amp;&gt; &quot;Veli&quot;")
    assert parsed.text == 'Ali <&> "Veli"'
    assert parsed.entities == []


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("&#65;&#x42;", "AB"),
        ("&#1241;", "ә"),
        ("&#x1F600;", "😀"),
        ("&amp", "&"),  # the semicolon is optional
        ("&ltb&gt;", "&ltb>"),  # "ltb" is no entity
        ("&foo; &nbsp; &copy;", "&foo; &nbsp; &copy;"),  # only lt, gt, amp and quot are known
        ("a & b", "a & b"),  # a bare & is literal
        ("&#X41;", "&#X41;"),  # hexadecimal needs a lower-case x
        ("&#0; &#;", "&#0; &#;"),
        ("&#12345678;", "&#12345678;"),  # too long
        ("&AMP;", "&AMP;"),  # names are case-sensitive
        ("1 > 0", "1 > 0"),  # a lone > is literal
        ("", ""),
    ],
)
def test_character_references(source: str, plain: str) -> None:
    assert parse_html(source).text == plain


def test_decoded_surrogate_is_an_error() -> None:
    assert parse_error("&#xD83D;") == (
        "can't parse entities: Text contains invalid Unicode characters after decoding HTML "
        "entities, check for unmatched surrogate code units"
    )


# -- tags ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "kind"),
    [
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("ins", "underline"),
        ("s", "strikethrough"),
        ("strike", "strikethrough"),
        ("del", "strikethrough"),
        ("tg-spoiler", "spoiler"),
        ("code", "code"),
        ("pre", "pre"),
        ("blockquote", "blockquote"),
    ],
)
def test_simple_tags(tag: str, kind: str) -> None:
    parsed = parse_html(f"x <{tag}>yz</{tag}> w")
    assert parsed.text == "x yz w"
    assert parsed.entities == [entity(kind, 2, 2)]


def test_tag_names_are_case_insensitive_and_end_tags_may_be_empty() -> None:
    assert parse_html("<B>x</b><I>y</>").entities == [entity("bold", 0, 1), entity("italic", 1, 1)]


def test_spoiler_span_and_expandable_blockquote() -> None:
    assert parse_html('<span class="tg-spoiler">s</span>').entities == [entity("spoiler", 0, 1)]
    assert parse_html("<blockquote expandable>q</blockquote>").entities == [
        entity("expandable_blockquote", 0, 1)
    ]


def test_links() -> None:
    parsed = parse_html('<a href="https://example.com/a?b=1">link</a>')
    assert parsed.entities == [entity("text_link", 0, 4, url="https://example.com/a?b=1")]
    # Telegram normalises URLs: a path is added, http:// is assumed, the host is lower-cased.
    assert parse_html("<a href='https://Example.com'>x</a>").entities[0]["url"] == (
        "https://example.com/"
    )
    assert parse_html('<a href="example.com">x</a>').entities[0]["url"] == "http://example.com/"
    # Without href the text is the URL.
    assert parse_html("<a>t.me/casualty_bot</a>").entities == [
        entity("text_link", 0, 17, url="http://t.me/casualty_bot")
    ]
    # An unquoted value is a name token and is lower-cased.
    assert parse_html("<a href=Example.com>x</a>").entities[0]["url"] == "http://example.com/"
    # An invalid URL makes no entity (Telegram drops it silently).
    assert parse_html('<a href="localhost">x</a>') == parse_html("x")
    assert parse_html('<a href="ftp://example.com">x</a>').entities == []


def test_user_mention_link() -> None:
    assert parse_html('<a href="tg://user?id=42">Əli</a>').entities == [
        entity("text_mention", 0, 3, user={"id": 42})
    ]


def test_pre_with_language_and_code() -> None:
    parsed = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert parsed.entities == [entity("pre", 0, 5, language="python")]
    # A language on a code outside pre is dropped.
    assert parse_html('<code class="language-python">x</code>').entities == [entity("code", 0, 1)]


def test_custom_emoji() -> None:
    parsed = parse_html('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')
    assert parsed.entities == [entity("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")]
    assert parse_error('<tg-emoji emoji-id="x">👍</tg-emoji>') == (
        "can't parse entities: Invalid custom emoji identifier specified"
    )


def test_nested_entities() -> None:
    # Telegram splits an outer bold where a nested italic starts, as tdlib's split_entities does.
    parsed = parse_html("<b>bold <i>both</i></b>")
    assert parsed.text == "bold both"
    assert parsed.entities == [entity("bold", 0, 5), entity("bold", 5, 4), entity("italic", 5, 4)]
    quoted = parse_html("<blockquote><b>x</b> y</blockquote>")
    assert quoted.entities == [entity("blockquote", 0, 3), entity("bold", 0, 1)]


def test_entities_are_normalised_as_telegram_does() -> None:
    # adjacent entities of one type merge
    assert parse_html("<b>a</b><b>b</b>").entities == [entity("bold", 0, 2)]
    # bold is split around a link inside it
    assert parse_html('<b>x <a href="https://t.me/">l</a> y</b>').entities == [
        entity("bold", 0, 2),
        entity("text_link", 2, 1, url="https://t.me/"),
        entity("bold", 2, 1),
        entity("bold", 3, 2),
    ]
    # code and pre can't contain other entities
    assert parse_html("<code><b>x</b></code>").entities == [entity("code", 0, 1)]


def test_empty_tags_make_no_entity() -> None:
    assert parse_html("a<b></b>c").entities == []


def test_attributes_quoted_unquoted_and_decoded() -> None:
    assert parse_html("<a href='https://t.me/?a=1&amp;b=2'>x</a>").entities[0]["url"] == (
        "https://t.me/?a=1&b=2"
    )
    assert parse_html('<b class="x" id=y>z</b>').entities == [entity("bold", 0, 1)]


# -- UTF-16 offsets ------------------------------------------------------------------------------


def test_offsets_are_utf16_code_units() -> None:
    parsed = parse_html("😀😀 <b>Əli</b> <i>Мина</i> 💣")
    assert parsed.text == "😀😀 Əli Мина 💣"
    assert parsed.entities == [entity("bold", 5, 3), entity("italic", 9, 4)]
    emoji = parse_html("<b>💣💣</b>x")
    assert emoji.entities == [entity("bold", 0, 4)]


def test_utf16_length() -> None:
    assert utf16_length("Ağdam") == 5
    assert utf16_length("Ağdam 💥") == 8
    assert utf16_length("") == 0


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "description"),
    [
        ("Hello <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 6'),
        # byte offsets count UTF-8 bytes: "Əli " is 5 bytes
        ("Əli <br>", 'Unsupported start tag "br" at byte offset 5'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</i>", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<i>x</b>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ('<a href="x', "Unclosed start tag at byte offset 0"),
        ("<a href", 'Unclosed start tag "a" at byte offset 0'),
        ("<a href=http://x>y</a>", "Unexpected end of name token at byte offset 8"),
        ('<a ="x">y</a>', 'Empty attribute name in the tag "a" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b/>", 'Unsupported start tag "b/" at byte offset 0'),
    ],
)
def test_parse_errors(source: str, description: str) -> None:
    assert parse_error(source) == f"can't parse entities: {description}"


def test_error_is_a_text_format_error() -> None:
    with pytest.raises(TextFormatError):
        parse_html("<x>")


# -- prepare_text: what Telegram stores ---------------------------------------------------------


def test_prepare_text_trims_and_cleans() -> None:
    assert prepare_text("  \n hi \r\n  ").text == "hi"
    assert prepare_text("a\tb\x01c\rd").text == "a b cd"
    assert prepare_text("   ").text == ""
    assert prepare_text("<b> </b>", "HTML").text == ""
    # leading whitespace inside an entity is kept, trailing whitespace is cut off
    parsed = prepare_text("<b>  x </b>  ", "HTML")
    assert parsed.text == "  x"
    assert parsed.entities == [entity("bold", 0, 3)]
    shifted = prepare_text("\n\n<i>x</i>", "html")
    assert shifted.text == "x"
    assert shifted.entities == [entity("italic", 0, 1)]


def test_prepare_text_parse_modes() -> None:
    assert prepare_text("<b>x</b>", None).text == "<b>x</b>"
    assert prepare_text("<b>x</b>", "HTML").entities == [entity("bold", 0, 1)]
    with pytest.raises(EntityParseError, match="not supported by the emulator"):
        prepare_text("*x*", "MarkdownV2")
    with pytest.raises(TextFormatError, match="unsupported parse_mode"):
        prepare_text("x", "bbcode")


def test_prepare_text_explicit_entities() -> None:
    parsed = prepare_text("Salam dünya", entities=[entity("bold", 0, 5), entity("url", 6, 5)])
    assert parsed.entities == [entity("bold", 0, 5)]  # detectable entities are Telegram's job
    with pytest.raises(TextFormatError, match="ends after the end of the text"):
        prepare_text("abc", entities=[entity("bold", 1, 5)])
    with pytest.raises(TextFormatError, match="middle of a UTF-16 symbol"):
        prepare_text("😀", entities=[entity("bold", 1, 1)])
    with pytest.raises(TextFormatError, match="is invalid"):
        prepare_text("x", entities=[entity("text_link", 0, 1, url="localhost")])


def test_message_length() -> None:
    assert message_length("<b>💣 Ağdam</b>", "HTML") == 8
    assert message_length("  x  ") == 1
    assert message_length("<b>x</b>") == 8


def test_normalize_link() -> None:
    assert normalize_link("HTTPS://T.ME/Bot") == "https://t.me/Bot"
    assert normalize_link("tg://resolve?domain=casualty_bot") == "tg://resolve?domain=casualty_bot"
    with pytest.raises(ValueError, match="Wrong HTTP URL"):
        normalize_link("http://localhost:8080")
    with pytest.raises(ValueError, match="Unsupported URL protocol"):
        normalize_link("ftp://example.com")


def test_user_message_entities() -> None:
    assert find_user_message_entities("/start") == [entity("bot_command", 0, 6)]
    assert find_user_message_entities("/stats@casualty_bot Ağdam") == [entity("bot_command", 0, 19)]
    assert find_user_message_entities("💣 /help @someone") == [
        entity("bot_command", 3, 5),
        entity("mention", 9, 8),
    ]
    assert find_user_message_entities("a/b http://x/y") == []


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escaped_text_parses_back_unchanged(text: str) -> None:
    parsed = parse_html(html.escape(text, quote=False))
    assert parsed.text == text
    assert parsed.entities == []


_SOUP = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<b>",
                "</b>",
                "<i>",
                "</i>",
                "<a href='https://t.me/x'>",
                "<a href=x>",
                "</a>",
                "<pre>",
                "</pre>",
                '<code class="language-py">',
                "</code>",
                "<tg-spoiler>",
                "</tg-spoiler>",
                "<span class=tg-spoiler>",
                "</span>",
                "<blockquote expandable>",
                "</blockquote>",
                '<tg-emoji emoji-id="1">',
                "</tg-emoji>",
                "<",
                ">",
                "&",
                "&amp;",
                "&#",
                "&#x1F4A3;",
                "</>",
                "=",
                '"',
                "'",
                " ",
                "\n",
            ]
        ),
        st.text(max_size=4),
    ),
    max_size=25,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_SOUP)
def test_tag_soup_only_raises_entity_parse_errors(source: str) -> None:
    try:
        parsed = parse_html(source)
    except EntityParseError as exc:
        assert exc.description.startswith("can't parse entities: ")
        return
    length = utf16_length(parsed.text)
    for item in parsed.entities:
        assert 0 <= item["offset"] < item["offset"] + item["length"] <= length
