"""Alert texts from templates, per language, chosen per technician, overridable in the config.

Each language is a YAML file in ``templates/`` (``en``, ``cs``); ``notifier.templates.<lang>``
overrides any key, ``notifier.language`` is the default and ``notifier.languages`` names each
technician's. Placeholders are ``${name}`` (``string.Template``). An SMS says what broke (the
components' descriptions), where calls go now in plain words, since when, the next step and the
acknowledgement code; only the "what broke" part is shortened to keep it in one SMS.
``notifier.transliterate`` strips diacritics (Czech "č" → "c") so a text stays GSM-7: one SMS of
160 characters instead of three UCS-2 parts.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from controller.notifier import gsm7

TEMPLATES = Path(__file__).with_name("templates")
LANGUAGES = ("en", "cs")

# The order members of an incident are told in: the most urgent first.
MEMBER_ORDER = ("paused_dead_route", "actuation_failed", "route", "modem", "flapping", "drift")


@functools.cache
def _builtin(lang: str) -> dict[str, Any]:
    data = yaml.safe_load((TEMPLATES / f"{lang}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def builtin_languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in TEMPLATES.glob("*.yaml")))


def transliterate(text: str) -> str:
    """Diacritics off where that makes the text GSM-7 ("Žižkov" → "Zizkov"); characters the
    GSM alphabet has (é, ü, ...) are kept, others without a plain form stay as they are."""
    if gsm7.is_gsm7(text):
        return text
    out = []
    for c in text:
        if gsm7.is_gsm7(c):
            out.append(c)
            continue
        plain = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
        out.append(plain if plain and gsm7.is_gsm7(plain) else c)
    return "".join(out)


class Texts:
    """One language's templates with the config's overrides."""

    def __init__(
        self, lang: str, overrides: Mapping[str, Any] | None = None, plain: bool = False
    ) -> None:
        base = dict(_builtin(lang if lang in builtin_languages() else "en"))
        for key, value in (overrides or {}).items():
            if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        self.lang = lang
        self.data = base
        self.plain = plain

    def raw(self, key: str, sub: str | None = None) -> str:
        value = self.data.get(key, "")
        if sub is not None:
            value = value.get(sub, value.get("other", "")) if isinstance(value, Mapping) else ""
        return str(value)

    def words(self, key: str) -> tuple[str, ...]:
        return tuple(str(w).lower() for w in self.data.get(key, ()))

    def fill(self, template: str, **values: object) -> str:
        text = Template(template).safe_substitute({k: str(v) for k, v in values.items()})
        return transliterate(text) if self.plain else text

    def sms(self, key: str, values: Mapping[str, object], shrink: str = "what") -> str:
        """The SMS for ``key``; ``values[shrink]`` is shortened so the text fits one SMS."""
        template = self.raw(key)
        marker = "${" + shrink + "}"
        if marker not in template:
            return gsm7.clean(self.fill(template, **values))
        head_t, _, tail_t = template.partition(marker)
        head = gsm7.clean(self.fill(head_t, **values)) + (" " if head_t.endswith(" ") else "")
        tail = self.fill(tail_t, **values)
        middle = self.fill(str(values.get(shrink, "")))
        return gsm7.fit(head, middle, gsm7.clean(tail) if tail.strip() else tail.strip())

    def severity(self, severity: str) -> str:
        return self.raw("severity", severity) or severity.upper()


def local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M %Z")


def duration(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def route_words(t: Texts, route: str | None, oncall: str | None, recipient: str) -> str:
    """Where calls go, from the recipient's point of view ("YOUR mobile", "the secondary line")."""
    if route == "oncall":
        if oncall is not None and oncall == recipient:
            return t.raw("route", "oncall_you")
        return t.fill(t.raw("route", "oncall"), name=oncall or "?")
    if route is None:
        return "?"
    return t.raw("route", route) or route


def calls(t: Texts, route: str | None, oncall: str | None, recipient: str) -> str:
    if route is None:
        return ""
    return t.fill(t.raw("calls"), route=route_words(t, route, oncall, recipient))


class Components:
    """Component names → the words a technician knows them by (their descriptions)."""

    def __init__(self, descriptions: Mapping[str, str], cluster: tuple[str, str]) -> None:
        self._d = dict(descriptions)
        self._d.setdefault(cluster[0], cluster[1])

    def name(self, component: str) -> str:
        return self._d.get(component) or component

    def broke(self, t: Texts, down: tuple[str, ...]) -> str:
        return t.raw("and").join(self.name(c) for c in down)
