"""Telegram's HTML parse mode and text normalisation, ported from tdlib.

``parse_html`` follows ``td::parse_html`` (td/telegram/MessageEntity.cpp) step by step, including
its error descriptions and UTF-8 byte offsets, and then normalises the entities the way
``td::fix_entities`` does (adjacent bold/italic/... merged, split around links, formatting inside
``code``/``pre`` dropped). ``prepare_text`` adds the rest of ``td::fix_formatted_text`` that the
server applies to every message: control characters become spaces, ``\\r`` is dropped, leading and
trailing spaces and newlines are trimmed. Offsets and lengths are in UTF-16 code units.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "USER_ENTITY_TYPES",
    "EntityParseError",
    "ParsedText",
    "TextFormatError",
    "find_user_message_entities",
    "message_length",
    "normalize_link",
    "parse_html",
    "prepare_text",
    "utf16_length",
]

# Entity types a bot may set itself (td's "user entities"); the rest are detected by Telegram.
USER_ENTITY_TYPES = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
    }
)

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_NAMED_ENTITIES = {"lt": 0x3C, "gt": 0x3E, "amp": 0x26, "quot": 0x22}
_SPECIAL = re.compile("[<&]")
_SIMPLE_START = re.compile(r"<([A-Za-z][A-Za-z-]*)>")
_SIMPLE_END = re.compile(r"</([^ \t\r\n\x00\x0b>]*)>")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SPACES = frozenset(" \t\r\n\0\v")  # td::is_space
_HEX = frozenset("0123456789abcdefABCDEF")
_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN_CHARS = _ALNUM | {".", "-"}
_INT32_MAX = 2**31 - 1

# td::MessageEntity::get_type_priority; "pre_code" is a pre block with a language.
_PRIORITY = {
    "mention": 50,
    "hashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "bold": 90,
    "italic": 91,
    "code": 20,
    "pre": 11,
    "pre_code": 10,
    "text_link": 49,
    "text_mention": 49,
    "cashtag": 50,
    "phone_number": 50,
    "underline": 92,
    "strikethrough": 93,
    "blockquote": 0,
    "bank_card_number": 50,
    "spoiler": 94,
    "custom_emoji": 99,
    "expandable_blockquote": 0,
    "date_time": 50,
}
_SPLITTABLE = ("bold", "italic", "underline", "strikethrough", "spoiler")
_SPLITTABLE_INDEX = {name: index for index, name in enumerate(_SPLITTABLE)}
_BLOCKQUOTE = frozenset({"blockquote", "expandable_blockquote"})
_PRE = frozenset({"pre", "code", "pre_code"})
_CONTINUOUS = frozenset(
    {
        "mention",
        "hashtag",
        "bot_command",
        "url",
        "email",
        "text_link",
        "text_mention",
        "cashtag",
        "phone_number",
        "bank_card_number",
        "custom_emoji",
        "date_time",
    }
)
_TYPE_BIT = {name: 1 << index for index, name in enumerate(sorted(_PRIORITY))}
_SPLITTABLE_MASK = sum(_TYPE_BIT[name] for name in _SPLITTABLE)
_BLOCKQUOTE_MASK = sum(_TYPE_BIT[name] for name in _BLOCKQUOTE)
_CONTINUOUS_MASK = sum(_TYPE_BIT[name] for name in _CONTINUOUS)


class TextFormatError(ValueError):
    """Telegram refused a text; ``description`` is what follows "Bad Request: "."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class EntityParseError(TextFormatError):
    """The text's markup is invalid ("can't parse entities: ...")."""

    def __init__(self, description: str) -> None:
        if not description.startswith("can't parse entities: "):
            description = f"can't parse entities: {description}"
        super().__init__(description)


@dataclass(slots=True)
class ParsedText:
    """Plain text and its MessageEntity dicts (offsets in UTF-16 code units)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Entity:
    type: str
    offset: int
    length: int
    argument: str = ""  # URL, language or custom emoji id
    user_id: int = 0

    @property
    def end(self) -> int:
        return self.offset + self.length

    def sort_key(self) -> tuple[int, int, int]:
        return (self.offset, -self.length, _PRIORITY.get(self.type, 50))


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def _sort(entities: list[_Entity]) -> None:
    entities.sort(key=_Entity.sort_key)


# ---------------------------------------------------------------------------------------------
# HTML


def _decode_entity(text: str, pos: int) -> tuple[int, int]:
    """td's decode_html_entity: (code point, position after it) or (0, pos) if not an entity."""
    size = len(text)
    end = pos + 1
    result = 0
    if end < size and text[end] == "#":
        end += 1
        if end < size and text[end] == "x":
            end += 1
            while end < size and text[end] in _HEX:
                result = result * 16 + int(text[end], 16)
                end += 1
                if end - pos >= 10:
                    return 0, pos
        else:
            while end < size and "0" <= text[end] <= "9":
                result = result * 10 + ord(text[end]) - 48
                end += 1
                if end - pos >= 10:
                    return 0, pos
        if result == 0 or result >= 0x10FFFF:
            return 0, pos
    else:
        while end < size and text[end].isascii() and text[end].isalpha():
            end += 1
        result = _NAMED_ENTITIES.get(text[pos + 1 : end], 0)
        if result == 0:
            return 0, pos
    if end < size and text[end] == ";":
        end += 1
    return result, end


def _link_user_id(url: str) -> int:
    """td's LinkManager::get_link_user_id: the id of a ``tg://user?id=`` link, or 0."""
    link = _lower(url)
    if not link.startswith("tg:"):
        return 0
    link = link[3:]
    if link.startswith("//"):
        link = link[2:]
    if not link.startswith("user"):
        return 0
    link = link[4:]
    if link.startswith("/"):
        link = link[1:]
    if not link.startswith("?"):
        return 0
    link = link[1:].split("#", 1)[0]
    for parameter in link.split("&"):
        key, _, value = parameter.partition("=")
        if key == "id":
            if not re.fullmatch(r"-?[1-9][0-9]{0,18}|0", value):
                return 0
            user_id = int(value)
            return user_id if 0 < user_id < 2**40 else 0
    return 0


def _parse_url(url: str) -> tuple[str, str, str, int, str]:
    """td's parse_url: (protocol, userinfo, host, specified port, query); raises ValueError."""
    match = re.match(r"[^:/?#@\[\]]*", url)
    assert match is not None
    protocol_str = _lower(match.group(0))
    rest = url[match.end() :]
    if rest.startswith("://"):
        if protocol_str not in ("http", "https"):
            raise ValueError("Unsupported URL protocol")
        protocol = protocol_str
        rest = rest[3:]
    else:
        protocol = "http"
        rest = url
    cut = re.search(r"[/?#]", rest)
    userinfo_host_port = rest[: cut.start()] if cut else rest
    query = rest[cut.start() :] if cut else ""
    port = 0
    colon = len(userinfo_host_port) - 1
    while colon > 0 and userinfo_host_port[colon] not in ":]@":
        colon -= 1
    if colon > 0 and userinfo_host_port[colon] == ":":
        port_text = userinfo_host_port[colon + 1 :].lstrip("0") or "0"
        port = int(port_text) if re.fullmatch(r"[0-9]{1,9}", port_text) else -1
        if port == 0:
            port = -1
        userinfo_host = userinfo_host_port[:colon]
    else:
        userinfo_host = userinfo_host_port
    if port < 0 or port > 65535:
        raise ValueError("Wrong port number specified in the URL")
    userinfo, _, host = userinfo_host.rpartition("@")
    is_ipv6 = host.startswith("[") and host.endswith("]") and len(host) > 1
    if not host:
        raise ValueError("URL host is empty")
    if host == ".":
        raise ValueError("Host is invalid")
    query = query.rstrip(" \t\r\n\0\v") or "/"
    query = ("" if query.startswith("/") else "/") + "".join(
        f"%{ord(char):02X}" if ord(char) <= 0x20 else char for char in query
    )
    host = _lower(host)
    if is_ipv6:
        if not re.fullmatch(r"\[[0-9a-f:.]+\]", host):
            raise ValueError("Wrong IPv6 URL host")
    else:
        index = 0
        while index < len(host):
            char = host[index]
            if char.isascii() and (char.isalnum() or char in ".-_!$,~*'();&+="):
                index += 1
                continue
            if char == "%":
                if re.match(r"%[0-9a-f]{2}", host[index:]):
                    index += 3
                    continue
                raise ValueError("Wrong percent-encoded symbol in URL host")
            if ord(char) >= 128:
                index += 1
                continue
            raise ValueError("Wrong URL host")
    return protocol, userinfo, host, port, query


def normalize_link(url: str) -> str:
    """td's LinkManager::check_link: the URL as Telegram stores it; raises ValueError(reason)."""
    scheme = ""
    link = url
    for prefix in ("tg:", "ton:", "tonsite:"):
        if _lower(link[: len(prefix)]) == prefix:
            scheme = prefix[:-1]
            link = link[len(prefix) :]
            break
    if scheme and link.startswith("//"):
        link = link[2:]
    protocol, userinfo, host, port, query = _parse_url(link)
    if scheme:
        if (
            _lower(link[:7]) == "http://"
            or protocol == "https"
            or userinfo
            or port != 0
            or host.startswith("[")
        ):
            raise ValueError("Wrong tg URL" if scheme == "tg" else "Wrong ton URL")
        if len(query) > 1 and query[1] == "?":
            query = query[1:]
        allowed = _ALNUM | {"-", "_"} | ({"."} if scheme == "tonsite" else set())
        if any(char not in allowed for char in host):
            raise ValueError("Unallowed characters in URL host")
        return f"{scheme}://{host}{query}"
    if "." not in host and not host.startswith("["):
        raise ValueError("Wrong HTTP URL")
    return f"{protocol}://{userinfo + '@' if userinfo else ''}{host}{f':{port}' if port else ''}{query}"


def _checked_link(url: str) -> str:
    try:
        return normalize_link(url)
    except ValueError:
        return ""


def _parse_int64(text: str) -> int | None:
    if not re.fullmatch(r"-?(0|[1-9][0-9]*)", text) or text == "-0":
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    offset: int
    piece: int  # index into the output pieces where the tag's content starts


def _parse_html_raw(text: str) -> tuple[str, list[_Entity]]:
    size = len(text)

    def at(index: int) -> str:
        return text[index] if index < size else "\0"

    def fail(message: str) -> EntityParseError:
        return EntityParseError(message)

    pieces: list[str] = []
    entities: list[_Entity] = []
    stack: list[_OpenTag] = []
    utf16 = 0
    has_surrogate = False
    i = 0
    while i < size:
        match = _SPECIAL.search(text, i)
        stop = match.start() if match else size
        if stop > i:
            chunk = text[i:stop]
            pieces.append(chunk)
            utf16 += utf16_length(chunk)
            i = stop
        if match is None:
            break
        if text[i] == "&":
            code, end = _decode_entity(text, i)
            if code:
                if 0xD800 <= code <= 0xDFFF:
                    has_surrogate = True
                pieces.append(chr(code))
                utf16 += 2 if code > 0xFFFF else 1
                i = end
            else:
                pieces.append("&")
                utf16 += 1
                i += 1
            continue

        begin = i
        simple = _SIMPLE_START.match(text, i)
        if simple is not None:  # fast path: a tag without attributes
            tag_name = _lower(simple.group(1))
            if tag_name in _SUPPORTED_TAGS and tag_name != "span":
                stack.append(_OpenTag(tag_name, "", utf16, len(pieces)))
                i = simple.end()
                continue
        i += 1
        if at(i) != "/":
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if at(i) == "\0":
                raise fail(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag_name = _lower(text[begin + 1 : i])
            if tag_name not in _SUPPORTED_TAGS:
                raise fail(
                    f'Unsupported start tag "{tag_name}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            while at(i) != ">":
                while at(i) != "\0" and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attribute_begin = i
                while at(i) not in _SPACES and at(i) not in "=>/\"'":
                    i += 1
                attribute_name = text[attribute_begin:i]
                if not attribute_name:
                    raise fail(
                        f'Empty attribute name in the tag "{tag_name}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while at(i) != "\0" and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if at(i) == "\0":
                        raise fail(
                            f'Unclosed start tag "{tag_name}" at byte offset '
                            f"{_byte_offset(text, begin)}"
                        )
                    if tag_name == "blockquote" and attribute_name == "expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != "\0" and at(i) in _SPACES:
                    i += 1
                if at(i) == "\0":
                    raise fail(
                        f'Unclosed start tag "{tag_name}" at byte offset {_byte_offset(text, begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i) in _TOKEN_CHARS:
                        i += 1
                    value = _lower(text[token_begin:i])
                    if at(i) not in _SPACES and at(i) != ">":
                        raise fail(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    end_character = at(i)
                    i += 1
                    value_pieces: list[str] = []
                    while at(i) != end_character and at(i) != "\0":
                        if at(i) == "&":
                            code, end = _decode_entity(text, i)
                            if code:
                                if 0xD800 <= code <= 0xDFFF:
                                    has_surrogate = True
                                value_pieces.append(chr(code))
                                i = end
                                continue
                        value_pieces.append(at(i))
                        i += 1
                    if at(i) == end_character:
                        i += 1
                    value = "".join(value_pieces)
                if at(i) == "\0":
                    raise fail(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                if tag_name == "a" and attribute_name == "href":
                    argument = value
                elif (
                    tag_name == "code"
                    and attribute_name == "class"
                    and value.startswith("language-")
                ):
                    argument = value[9:]
                elif tag_name == "span" and attribute_name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag_name == "tg-emoji" and attribute_name == "emoji-id":
                    argument = value
                elif tag_name == "blockquote" and attribute_name == "expandable":
                    argument = "1"
            if tag_name == "span" and argument != "spoiler":
                raise fail(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            stack.append(_OpenTag(tag_name, argument, utf16, len(pieces)))
            i += 1  # the '>'
            continue

        # an end tag
        if not stack:
            raise fail(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        simple = _SIMPLE_END.match(text, begin)
        if simple is not None:
            end_tag_name = _lower(simple.group(1))
            i = simple.end()
        else:
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            end_tag_name = _lower(text[begin + 2 : i])
            while at(i) != "\0" and at(i) in _SPACES:
                i += 1
            if at(i) != ">":
                raise fail(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            i += 1
        opened = stack.pop()
        tag_name = opened.name
        if end_tag_name and end_tag_name != tag_name:
            raise fail(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag_name}>", found "</{end_tag_name}>"'
            )
        if utf16 <= opened.offset:
            continue
        offset = opened.offset
        length = utf16 - offset
        if tag_name in ("i", "em"):
            entities.append(_Entity("italic", offset, length))
        elif tag_name in ("b", "strong"):
            entities.append(_Entity("bold", offset, length))
        elif tag_name in ("s", "strike", "del"):
            entities.append(_Entity("strikethrough", offset, length))
        elif tag_name in ("u", "ins"):
            entities.append(_Entity("underline", offset, length))
        elif tag_name in ("tg-spoiler", "span"):
            entities.append(_Entity("spoiler", offset, length))
        elif tag_name == "tg-emoji":
            emoji_id = _parse_int64(opened.argument)
            if not emoji_id:
                raise fail("Invalid custom emoji identifier specified")
            entities.append(_Entity("custom_emoji", offset, length, str(emoji_id)))
        elif tag_name == "a":
            url = opened.argument or "".join(pieces[opened.piece :])
            user_id = _link_user_id(url)
            if user_id:
                entities.append(_Entity("text_mention", offset, length, user_id=user_id))
            else:
                url = _checked_link(url)
                if url:
                    entities.append(_Entity("text_link", offset, length, url))
        elif tag_name == "pre":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last.type == "code"
                and last.offset == offset
                and last.length == length
                and last.argument
            ):
                last.type = "pre_code"
            else:
                entities.append(_Entity("pre", offset, length))
        elif tag_name == "code":
            last = entities[-1] if entities else None
            if (
                last is not None
                and last.type == "pre"
                and last.offset == offset
                and last.length == length
                and opened.argument
            ):
                last.type = "pre_code"
                last.argument = opened.argument
            else:
                entities.append(_Entity("code", offset, length, opened.argument))
        else:  # blockquote
            kind = "expandable_blockquote" if opened.argument else "blockquote"
            entities.append(_Entity(kind, offset, length))
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        if entity.type == "code":
            entity.argument = ""
    _sort(entities)
    result = "".join(pieces)
    if has_surrogate and any(0xD800 <= ord(char) <= 0xDFFF for char in result):
        raise fail(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        )
    return result, entities


# ---------------------------------------------------------------------------------------------
# td::fix_entities


def _are_entities_valid(entities: Sequence[_Entity]) -> bool:
    end_pos = [-1] * len(_SPLITTABLE)
    stack: list[_Entity] = []
    mask = 0
    for entity in entities:
        while stack and entity.offset >= stack[-1].end:
            mask -= _TYPE_BIT[stack[-1].type]
            stack.pop()
        if stack:
            bit = _TYPE_BIT[entity.type]
            if entity.end > stack[-1].end or mask & bit or stack[-1].type in _PRE:
                return False
            if entity.type in _PRE and mask & ~_BLOCKQUOTE_MASK:
                return False
            if (entity.type in _CONTINUOUS or entity.type in _BLOCKQUOTE) and (
                mask & _CONTINUOUS_MASK
            ):
                return False
            if entity.type in _BLOCKQUOTE and mask & _BLOCKQUOTE_MASK:
                return False
            if mask & _SPLITTABLE_MASK:
                return False
        if entity.type in _SPLITTABLE_INDEX:
            index = _SPLITTABLE_INDEX[entity.type]
            if end_pos[index] >= entity.offset:
                return False
            end_pos[index] = entity.end
        stack.append(entity)
        mask += _TYPE_BIT[entity.type]
    return True


def _remove_intersecting(entities: list[_Entity]) -> list[_Entity]:
    """Keeps the first of any overlapping (or nested) entities."""
    kept: list[_Entity] = []
    last_end = 0
    for entity in entities:
        if entity.offset >= last_end:
            last_end = entity.end
            kept.append(entity)
    return kept


def _remove_intersecting_blockquote(
    entities: list[_Entity], blockquotes: list[_Entity]
) -> list[_Entity]:
    kept: list[_Entity] = []
    index = 0
    for entity in entities:
        while index < len(blockquotes) and blockquotes[index].end <= entity.offset:
            index += 1
        if index < len(blockquotes):
            quote = blockquotes[index]
            if quote.end < entity.end or entity.offset < quote.offset < entity.end:
                continue
        kept.append(entity)
    return kept


def _split_entities(entities: list[_Entity], others: list[_Entity]) -> list[_Entity]:
    """Merges splittable entities of one type and splits them at the others' boundaries."""
    begin_pos = [0] * len(_SPLITTABLE)
    end_pos = [0] * len(_SPLITTABLE)
    result: list[_Entity] = []
    position = 0

    def flush(offset: int) -> None:
        for index, kind in enumerate(_SPLITTABLE):
            if end_pos[index] != 0 and begin_pos[index] < offset:
                if end_pos[index] <= offset:
                    result.append(
                        _Entity(kind, begin_pos[index], end_pos[index] - begin_pos[index])
                    )
                    begin_pos[index] = 0
                    end_pos[index] = 0
                else:
                    result.append(_Entity(kind, begin_pos[index], offset - begin_pos[index]))
                    begin_pos[index] = offset

    def add_entities(end_offset: int) -> None:
        nonlocal position
        while position < len(entities):
            entity = entities[position]
            if entity.offset >= end_offset:
                break
            index = _SPLITTABLE_INDEX[entity.type]
            if entity.offset <= end_pos[index] and end_pos[index] != 0:
                end_pos[index] = max(end_pos[index], entity.end)
            else:
                flush(entity.offset)
                begin_pos[index] = entity.offset
                end_pos[index] = entity.end
            position += 1
        flush(end_offset)

    stack: list[_Entity] = []

    def add_offset(offset: int) -> None:
        while stack and offset >= stack[-1].end:
            old_size = len(result)
            add_entities(stack[-1].end)
            if stack[-1].type in _PRE:
                del result[old_size:]
            stack.pop()
        add_entities(offset)

    for other in others:
        add_offset(other.offset)
        stack.append(other)
    add_offset(_INT32_MAX)
    _sort(result)
    return result


def _fix_entities(entities: list[_Entity]) -> list[_Entity]:
    _sort(entities)
    if _are_entities_valid(entities):
        return entities
    continuous = [
        e for e in entities if e.type not in _SPLITTABLE_INDEX and e.type not in _BLOCKQUOTE
    ]
    blockquotes = [e for e in entities if e.type in _BLOCKQUOTE]
    splittable = [e for e in entities if e.type in _SPLITTABLE_INDEX]
    continuous = _remove_intersecting(continuous)
    if blockquotes:
        blockquotes = _remove_intersecting(blockquotes)
        continuous = _remove_intersecting_blockquote(continuous, blockquotes)
        continuous = continuous + blockquotes
        _sort(continuous)
    if not splittable:
        return continuous
    splittable = _split_entities(splittable, continuous)
    if not continuous:
        return splittable
    combined = continuous + splittable
    _sort(combined)
    return combined


# ---------------------------------------------------------------------------------------------
# Conversion from and to Bot API MessageEntity dicts


def _to_dict(entity: _Entity) -> dict[str, Any]:
    kind = "pre" if entity.type == "pre_code" else entity.type
    result: dict[str, Any] = {"type": kind, "offset": entity.offset, "length": entity.length}
    if entity.type == "pre_code":
        result["language"] = entity.argument
    elif entity.type == "text_link":
        result["url"] = entity.argument
    elif entity.type == "custom_emoji":
        result["custom_emoji_id"] = entity.argument
    elif entity.type == "text_mention":
        result["user"] = {"id": entity.user_id}
    return result


def _require_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            return int(value)
        raise TextFormatError(f'can\'t parse MessageEntity: field "{name}" must be a number')
    return value


def _from_dicts(entities: Iterable[object]) -> list[_Entity]:
    """Bot API MessageEntity dicts (the ``entities`` parameter) as td entities."""
    result: list[_Entity] = []
    for raw in entities:
        if not isinstance(raw, Mapping):
            raise TextFormatError("can't parse MessageEntity: expected an Object")
        kind = raw.get("type")
        if not isinstance(kind, str) or not kind:
            raise TextFormatError('can\'t parse MessageEntity: field "type" must be non-empty')
        offset = _require_int(raw.get("offset"), "offset")
        length = _require_int(raw.get("length"), "length")
        if offset < 0 or offset > 1000000:
            raise TextFormatError(f"receive an entity with incorrect offset {offset}")
        if length < 0 or length > 1000000:
            raise TextFormatError(f"receive an entity with incorrect length {length}")
        if kind not in _PRIORITY or kind == "pre_code":
            raise TextFormatError(f'unsupported entity type "{kind}"')
        if kind not in USER_ENTITY_TYPES:
            continue  # Telegram drops detectable entities and finds them itself
        entity = _Entity(kind, offset, length)
        if kind == "pre":
            language = raw.get("language")
            if isinstance(language, str) and language:
                entity.type = "pre_code"
                entity.argument = language
        elif kind == "text_link":
            url = raw.get("url")
            if not isinstance(url, str):
                raise TextFormatError('can\'t parse MessageEntity: field "url" must be a String')
            user_id = _link_user_id(url)
            if user_id:
                entity.type = "text_mention"
                entity.user_id = user_id
            else:
                try:
                    entity.argument = normalize_link(url)
                except ValueError as exc:
                    raise TextFormatError(f"entity URL '{url}' is invalid: {exc}") from None
        elif kind == "text_mention":
            user = raw.get("user")
            user_id_value = user.get("id") if isinstance(user, Mapping) else None
            entity.user_id = _require_int(user_id_value, "user")
        elif kind == "custom_emoji":
            emoji_id = _parse_int64(str(raw.get("custom_emoji_id", "")))
            if not emoji_id:
                raise TextFormatError("invalid custom emoji identifier specified")
            entity.argument = str(emoji_id)
        result.append(entity)
    return result


# ---------------------------------------------------------------------------------------------
# Public API


def parse_html(text: str) -> ParsedText:
    """Parses Telegram HTML; raises EntityParseError with Telegram's description."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TextFormatError("strings must be encoded in UTF-8") from None
    plain, entities = _parse_html_raw(text)
    return ParsedText(plain, [_to_dict(entity) for entity in _fix_entities(entities)])


_CLEAN = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f]|\r|[\u2028-\u202e]|[\u0333\u033f\u030a]")
_MARKS = re.compile("[\u200e\u200f]{2,}")


def _clean(text: str, entities: list[_Entity]) -> str:
    """td's clean_input_string_with_entities: control characters and some marks."""
    removed: list[int] = []  # UTF-16 offsets (in the old text) of removed characters
    pieces: list[str] = []
    last = 0
    for match in _CLEAN.finditer(text):
        char = match.group(0)
        pieces.append(text[last : match.start()])
        last = match.end()
        if char < " " and char != "\r":
            pieces.append(" ")  # control characters, tabs included, become spaces
        else:
            removed.append(utf16_length(text[: match.start()]))
    pieces.append(text[last:])
    cleaned = "".join(pieces)
    if removed:
        for entity in entities:
            before_begin = sum(1 for pos in removed if pos < entity.offset)
            before_end = sum(1 for pos in removed if pos < entity.end)
            entity.offset -= before_begin
            entity.length -= before_end - before_begin
    return _MARKS.sub(lambda m: "\u200c" * (len(m.group(0)) - 1) + m.group(0)[-1], cleaned)


def _check_entity_bounds(text: str, entities: list[_Entity]) -> None:
    length = utf16_length(text)
    boundaries: set[int] | None = None
    for entity in entities:
        if entity.offset > length:
            raise TextFormatError(
                f"entity begins after the end of the text at UTF-16 offset {entity.offset}"
            )
        if entity.end > length:
            raise TextFormatError(
                f"entity beginning at UTF-16 offset {entity.offset} ends after the end of the "
                f"text at UTF-16 offset {entity.end}"
            )
        if not text.isascii():
            if boundaries is None:
                boundaries = {0}
                position = 0
                for char in text:
                    position += 2 if ord(char) > 0xFFFF else 1
                    boundaries.add(position)
            if entity.offset not in boundaries:
                raise TextFormatError("entity begins in a middle of a UTF-16 symbol")
            if entity.end not in boundaries:
                raise TextFormatError(
                    f"entity beginning at UTF-16 offset {entity.offset} ends in a middle of a "
                    "UTF-16 symbol"
                )


def prepare_text(
    text: str,
    parse_mode: str | None = None,
    entities: Sequence[object] | None = None,
) -> ParsedText:
    """A text as Telegram stores it: parsed (``parse_mode`` wins over ``entities``), cleaned and
    trimmed. The result's text is empty if nothing but whitespace was left.

    Raises EntityParseError for bad markup, TextFormatError for bad ``entities`` and an
    unsupported ``parse_mode``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise TextFormatError("strings must be encoded in UTF-8") from None
    mode = (parse_mode or "").lower()
    items: list[_Entity]
    if text and mode and mode != "none":
        if mode == "html":
            text, items = _parse_html_raw(text)
        elif mode in ("markdown", "markdownv2"):
            # The emulator implements the HTML parse mode only (the bot uses HTML).
            raise EntityParseError(f"parse_mode {parse_mode} is not supported by the emulator")
        else:
            raise TextFormatError("unsupported parse_mode")
    else:
        items = _from_dicts(entities or ())
        _check_entity_bounds(text, items)
        items = [entity for entity in items if entity.length > 0]
    items = _fix_entities(items)
    text = _clean(text, items)
    items = [entity for entity in items if entity.length > 0]

    # td::remove_invalid_entities + trimming of spaces and newlines
    stripped = text.rstrip(" \n")
    if not stripped:
        return ParsedText("", [])
    items = _fix_entities(items)
    last = utf16_length(stripped)  # one past the last non-whitespace code unit
    trimmed: list[_Entity] = []
    for entity in items:
        if entity.offset >= last:
            continue
        if entity.end > last:
            entity.length = last - entity.offset
        trimmed.append(entity)
    _sort(trimmed)
    first_entity = trimmed[0].offset if trimmed else len(stripped)
    start = 0
    while start < first_entity and stripped[start] in " \n":
        start += 1
    if start:
        stripped = stripped[start:]
        for entity in trimmed:
            entity.offset -= start
    return ParsedText(stripped, [_to_dict(entity) for entity in trimmed])


def message_length(text: str, parse_mode: str | None = None) -> int:
    """Length in UTF-16 code units that Telegram checks against its 4096/1024 limits."""
    return utf16_length(prepare_text(text, parse_mode).text)


def _is_word_character(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] in "LN"


def _find(
    text: str, pattern: re.Pattern[str], accept: Callable[[re.Match[str]], bool]
) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        if accept(match):
            found.append((match.start(), match.end()))
    return found


_BOT_COMMAND = re.compile(r"/([a-zA-Z0-9_]{1,64})(@[a-zA-Z0-9_]*)?")
_MENTION = re.compile(r"@([a-zA-Z0-9_]*)")


def find_user_message_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command and mention entities Telegram detects in a user's message."""
    if "/" not in text and "@" not in text:
        return []

    def before_ok(start: int, extra: str) -> bool:
        if start == 0:
            return True
        prev = text[start - 1]
        return not _is_word_character(prev) and prev not in extra

    def after_ok(end: int, extra: str) -> bool:
        if end >= len(text):
            return True
        nxt = text[end]
        return not _is_word_character(nxt) and nxt not in extra

    def command(match: re.Match[str]) -> bool:
        mention = match.group(2)
        if mention is not None and not 3 <= len(mention) - 1 <= 32:
            return False
        return before_ok(match.start(), "/<>") and after_ok(match.end(), "/<>")

    def mention(match: re.Match[str]) -> bool:
        return (
            2 <= len(match.group(1)) <= 32
            and before_ok(match.start(), "")
            and after_ok(match.end(), "")
        )

    found = [_Entity("bot_command", s, e - s) for s, e in _find(text, _BOT_COMMAND, command)]
    found += [_Entity("mention", s, e - s) for s, e in _find(text, _MENTION, mention)]
    for entity in found:  # code point indexes to UTF-16 offsets
        start, end = entity.offset, entity.end
        entity.offset = utf16_length(text[:start])
        entity.length = utf16_length(text[start:end])
    _sort(found)
    return [_to_dict(entity) for entity in _remove_intersecting(found)]
