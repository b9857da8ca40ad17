"""Reading the config file: YAML (duplicate keys are errors) into ``HotlineConfig``, and pydantic's
errors turned into ``path: message`` lines that name the place in the file.

A hostile or broken file ends in a ``ConfigError`` (``hotline config check`` and ``hotline run``
exit 2 with it), never in a traceback: the file must be at most ``MAX_BYTES`` (checked before it
is read whole, so a huge file costs neither time nor memory), UTF-8 text without NUL bytes, and
nested at most ``MAX_DEPTH`` levels (checked on the YAML events, before any recursion). Every
problem is printed escaped (``logsafe.esc``): a key or value from the file cannot repaint the
terminal or forge a line of the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from controller.config.model import HotlineConfig
from logsafe import esc

MAX_BYTES = 1024 * 1024
"""A real config is a few kB; 1 MiB leaves room for comments and long inventories."""
MAX_DEPTH = 64
"""Nesting levels of YAML collections (the model needs about 8)."""
SHOWN = 50
"""Problems printed at most (a file of 3,000 unknown keys lists the first 50 and a count)."""


class ConfigError(Exception):
    """The config file cannot be used; ``problems`` lists each (path, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        shown = [
            f"  {esc(p, 300)}: {esc(m, 500)}" if p else f"  {esc(m, 500)}"
            for p, m in problems[:SHOWN]
        ]
        if len(problems) > SHOWN:
            shown.append(f"  ... and {len(problems) - SHOWN} more")
        lines = "\n".join(shown)
        super().__init__(f"{esc(source, 300)}: {len(problems)} error(s)\n{lines}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


_TAGGED_LISTS = ("probes", "actuators")  # lists of tagged unions: the tag is not in the file


def _format_loc(loc: tuple[int | str, ...]) -> str:
    # pydantic inserts the tag of a tagged union ("probes.0.sip.uri"); the file has no such key.
    parts = [
        str(p)
        for i, p in enumerate(loc)
        if not (
            0 < i - 1 < len(loc) - 2 and loc[i - 2] in _TAGGED_LISTS and isinstance(loc[i - 1], int)
        )
    ]
    return ".".join(parts)


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"])
        msg = msg.removeprefix("Value error, ")
        path = _format_loc(tuple(err["loc"]))
        if err["type"] == "cross_check":
            out.extend(err["ctx"]["problems"])
            continue
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append((path, msg))
    return out


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: what is wrong, and where (PyYAML's own text spans several lines)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "syntax error"
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"not valid YAML: {what}{where}"
    return f"not valid YAML: {exc}".replace("\n", " ")


def _check_depth(text: str) -> None:
    """Refuse collections nested deeper than ``MAX_DEPTH`` before PyYAML composes them.

    PyYAML's composer and constructor recurse once per level: 50,000 ``[`` would end in a
    RecursionError. Its parser is not recursive, so its event stream is counted here.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_UniqueKeyLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                where = f" (line {mark.line + 1})" if mark is not None else ""
                raise ConfigError("", [("", f"nested deeper than {MAX_DEPTH} levels{where}")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_config(text: str, source: str = "<config>") -> HotlineConfig:
    try:
        _check_depth(text)
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as exc:
        raise ConfigError(source, exc.problems) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [("", _yaml_problem(exc))]) from None
    except RecursionError:  # e.g. aliases nested deeper than the events show
        raise ConfigError(source, [("", "nested too deeply")]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "the file must hold a mapping at the top level")])
    try:
        return HotlineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_of(exc)) from None
    except RecursionError:
        raise ConfigError(source, [("", "nested too deeply")]) from None


def decode_config(raw: bytes, source: str) -> str:
    """The file's bytes as text, or a ConfigError saying why they are not a config file."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(source, [("", "the file is UTF-16; save it as UTF-8")])
    if b"\x00" in raw:
        raise ConfigError(source, [("", f"not a text file (a NUL byte at offset {raw.index(0)})")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        raise ConfigError(source, [("", why)]) from None


def load_config(path: str | Path) -> HotlineConfig:
    p = Path(path)
    try:
        with p.open("rb") as f:
            # stat() first: a 50 MB file is refused without reading it; read one byte past the
            # cap anyway, for files whose size stat() does not know (a pipe, /dev/stdin).
            if p.is_file() and p.stat().st_size > MAX_BYTES:
                raise ConfigError(str(p), [("", _too_big(p.stat().st_size))])
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(str(p), [("", f"cannot read: {exc.strerror}")]) from exc
    if len(raw) > MAX_BYTES:
        raise ConfigError(str(p), [("", _too_big(None))])
    return parse_config(decode_config(raw, str(p)), str(p))


def _too_big(size: int | None) -> str:
    found = f"{size} bytes" if size is not None else "more"
    return f"the file is too big ({found}; at most {MAX_BYTES} bytes)"
