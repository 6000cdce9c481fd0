"""Checks requests (and objects) against the machine-readable Bot API (api.json).

The file is the official documentation scraped by PaulSonOfLars/telegram-bot-api-spec: ``methods``
and ``types`` keyed by name, each with ``fields`` of ``name``, ``types`` and ``required``. It is
read from ``../shared/telegram-bot-api/api.json`` next to the repository and is never copied into
it. The same type names also drive how form and multipart values (which arrive as strings) are
decoded: ``decode_params``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.emulator.models import UploadedFile

__all__ = [
    "SpecChecker",
    "check_object",
    "check_request",
    "decode_params",
    "default_spec_path",
    "load_spec",
]

_DISCRIMINATORS = ("type", "status", "source")
_CONSTANT = re.compile(r'(?:must be|always) "?([a-z_0-9]+)"?')
_INTEGER = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")

# How string values of the parameters the emulator implements decode when no spec is loaded.
_BUILTIN_KINDS: dict[str, str] = {
    **dict.fromkeys(("chat_id", "from_chat_id"), "int_or_str"),
    **dict.fromkeys(
        (
            "message_id",
            "user_id",
            "offset",
            "limit",
            "timeout",
            "cache_time",
            "max_connections",
            "message_thread_id",
            "reply_to_message_id",
            "direct_messages_topic_id",
            "until_date",
        ),
        "int",
    ),
    **dict.fromkeys(
        (
            "disable_notification",
            "protect_content",
            "allow_paid_broadcast",
            "show_alert",
            "is_personal",
            "drop_pending_updates",
            "has_spoiler",
            "show_caption_above_media",
            "disable_content_type_detection",
            "disable_web_page_preview",
            "allow_sending_without_reply",
            "for_channels",
            "only_if_banned",
        ),
        "bool",
    ),
    **dict.fromkeys(
        (
            "reply_markup",
            "entities",
            "caption_entities",
            "commands",
            "scope",
            "results",
            "allowed_updates",
            "reply_parameters",
            "link_preview_options",
            "menu_button",
            "media",
            "message_ids",
            "button",
            "rights",
            "suggested_post_parameters",
        ),
        "json",
    ),
}


def default_spec_path() -> Path:
    """``../shared/telegram-bot-api/api.json`` relative to the repository root."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "telegram-bot-api" / "api.json"


def load_spec(path: str | Path | None = None) -> dict[str, Any] | None:
    """The parsed api.json, or None if the file does not exist."""
    file = Path(path) if path is not None else default_spec_path()
    if not file.is_file():
        return None
    with file.open(encoding="utf-8") as handle:
        spec = json.load(handle)
    if not isinstance(spec, dict) or "methods" not in spec or "types" not in spec:
        raise ValueError(f"{file} is not a Bot API spec (no 'methods' and 'types')")
    return spec


# Checked in order: bool before int, since a bool is an int.
_KIND_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "Boolean"),
    (int, "Integer"),
    (float, "Float"),
    (str, "String"),
    (list, "Array"),
    (dict, "Object"),
    (UploadedFile, "InputFile"),
)


def _kind_of(value: object) -> str:
    for kind, name in _KIND_NAMES:
        if isinstance(value, kind):
            return name
    if value is None:
        return "null"
    return type(value).__name__


def _kind_for_types(types: list[str]) -> str:
    names = set(types)
    if names <= {"Integer", "String"} and "Integer" in names:
        return "int_or_str" if "String" in names else "int"
    if names <= {"Boolean", "True"}:
        return "bool"
    if names == {"Float"} or names == {"Float", "Integer"}:
        return "float"
    if names <= {"String", "InputFile"}:
        return "str"
    return "json"


def _decode(kind: str, value: str) -> object:
    if kind in ("int", "int_or_str"):
        return int(value) if _INTEGER.fullmatch(value) else value
    if kind == "bool":
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        return value
    if kind == "float":
        return float(value) if _FLOAT.fullmatch(value) else value
    if kind == "json":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class SpecChecker:
    """Validation against one parsed api.json; build once and reuse."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.methods: dict[str, Mapping[str, Any]] = {
            name.lower(): method for name, method in spec["methods"].items()
        }
        self.types: Mapping[str, Mapping[str, Any]] = spec["types"]
        self._constants: dict[str, tuple[str, str] | None] = {}

    def method(self, name: str) -> Mapping[str, Any] | None:
        return self.methods.get(name.lower())

    def method_name(self, name: str) -> str | None:
        """The spec's spelling of a method name (case-insensitive), or None."""
        method = self.method(name)
        return None if method is None else str(method["name"])

    def fields(self, method: str) -> dict[str, Mapping[str, Any]]:
        found = self.method(method)
        if found is None:
            return {}
        return {item["name"]: item for item in found.get("fields", [])}

    def decode(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """String values decoded by the parameter's declared types."""
        fields = self.fields(method)
        result: dict[str, Any] = {}
        for name, value in params.items():
            if isinstance(value, str):
                declared = fields.get(name)
                if declared is not None:
                    value = _decode(_kind_for_types(list(declared["types"])), value)
                elif name in _BUILTIN_KINDS:
                    value = _decode(_BUILTIN_KINDS[name], value)
            result[name] = value
        return result

    def check_request(self, method: str, params: Mapping[str, Any]) -> list[str]:
        found = self.method(method)
        if found is None:
            return [f'unknown method "{method}"']
        name = found["name"]
        problems: list[str] = []
        fields = self.fields(method)
        for param, value in params.items():
            declared = fields.get(param)
            if declared is None:
                problems.append(f'unknown parameter "{param}" of {name}')
                continue
            if value is None:
                continue
            problems += self._check_value(list(declared["types"]), value, param, parameter=True)
        for param, declared in fields.items():
            if declared.get("required") and params.get(param) is None:
                problems.append(f'missing required parameter "{param}" of {name}')
        return problems

    def check_object(self, type_name: str, value: object, path: str = "") -> list[str]:
        """Problems of ``value`` as an object of the spec type ``type_name``."""
        return self._check_type(type_name, value, path or type_name)

    # -- internals ----------------------------------------------------------------------------

    def _check_value(
        self, types: list[str], value: object, path: str, *, parameter: bool = False
    ) -> list[str]:
        best = self._fewest_problems(types, value, path)
        if best == []:
            return []
        nested = any(self._same_shape(type_name, value) for type_name in types)
        if not nested or best is None:
            what = f'parameter "{path}"' if parameter else path
            return [f"{what} must be {' or '.join(types)}, got {_kind_of(value)}"]
        return best

    def _same_shape(self, type_name: str, value: object) -> bool:
        """Whether ``value`` is an array for an array type or an object for an object type."""
        if type_name.startswith("Array of "):
            return isinstance(value, list)
        return isinstance(value, dict) and type_name in self.types and type_name != "InputFile"

    def _constant(self, type_name: str) -> tuple[str, str] | None:
        """(discriminator field, constant) of a subtype, e.g. ("type", "chat")."""
        if type_name not in self._constants:
            found: tuple[str, str] | None = None
            for item in self.types.get(type_name, {}).get("fields", []):
                if item["name"] in _DISCRIMINATORS:
                    match = _CONSTANT.search(item.get("description", ""))
                    if match:
                        found = (item["name"], match.group(1))
                    break
            self._constants[type_name] = found
        return self._constants[type_name]

    def _check_type(self, type_name: str, value: object, path: str) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path} must be {type_name}, got {_kind_of(value)}"]
            inner = type_name[len("Array of ") :]
            problems: list[str] = []
            for index, item in enumerate(value):
                problems += self._check_value([inner], item, f"{path}[{index}]")
            return problems
        simple = {
            "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "String": lambda v: isinstance(v, str),
            "Boolean": lambda v: isinstance(v, bool),
            "True": lambda v: v is True,
            "InputFile": lambda v: isinstance(v, UploadedFile),
        }
        check = simple.get(type_name)
        if check is not None:
            return [] if check(value) else [f"{path} must be {type_name}, got {_kind_of(value)}"]
        definition = self.types.get(type_name)
        if definition is None:
            return []  # a type the spec does not describe: nothing to check
        if not isinstance(value, dict):
            return [f"{path} must be {type_name}, got {_kind_of(value)}"]
        subtypes = definition.get("subtypes")
        if subtypes:
            return self._check_subtypes(type_name, list(subtypes), value, path)
        problems = []
        fields = {item["name"]: item for item in definition.get("fields", [])}
        if not fields:
            return []
        for name, item in value.items():
            declared = fields.get(name)
            if declared is None:
                problems.append(f'unknown field "{name}" in {path} ({type_name})')
            elif item is not None:
                problems += self._check_value(list(declared["types"]), item, f"{path}.{name}")
        for name, declared in fields.items():
            if declared.get("required") and value.get(name) is None:
                problems.append(f'missing required field "{name}" in {path} ({type_name})')
        return problems

    def _check_subtypes(
        self, type_name: str, subtypes: list[str], value: dict[str, Any], path: str
    ) -> list[str]:
        candidates = subtypes
        constants = {subtype: self._constant(subtype) for subtype in subtypes}
        keys = {constant[0] for constant in constants.values() if constant is not None}
        for key in keys:
            if key in value:
                candidates = [
                    subtype
                    for subtype, constant in constants.items()
                    if constant is not None and constant == (key, value[key])
                ]
                if not candidates:
                    return [f'{path}.{key} "{value[key]}" is not a known {type_name} {key}']
                break
        return self._fewest_problems(candidates, value, path) or []

    def _fewest_problems(self, type_names: list[str], value: object, path: str) -> list[str] | None:
        """[] if ``value`` fits one of ``type_names``, else the shortest list of problems it
        has as one of them (the first such); None if there are no ``type_names``."""
        best: list[str] | None = None
        for type_name in type_names:
            problems = self._check_type(type_name, value, path)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best


def check_request(spec: Mapping[str, Any], method: str, params: Mapping[str, Any]) -> list[str]:
    """Problems of a request: unknown method or parameter, missing or mistyped values."""
    return SpecChecker(spec).check_request(method, params)


def check_object(spec: Mapping[str, Any], type_name: str, value: object) -> list[str]:
    """Problems of ``value`` as a ``type_name`` object (e.g. a Message the emulator returns)."""
    return SpecChecker(spec).check_object(type_name, value)


def decode_params(
    method: str, params: Mapping[str, Any], spec: Mapping[str, Any] | SpecChecker | None = None
) -> dict[str, Any]:
    """Decodes string values (form or multipart fields) by the parameters' types."""
    if spec is not None:
        checker = spec if isinstance(spec, SpecChecker) else SpecChecker(spec)
        return checker.decode(method, params)
    return {
        name: _decode(_BUILTIN_KINDS[name], value)
        if isinstance(value, str) and name in _BUILTIN_KINDS
        else value
        for name, value in params.items()
    }
