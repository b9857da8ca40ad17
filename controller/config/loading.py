"""Reading the config file: YAML (duplicate keys are errors) into ``HotlineConfig``, and pydantic's
errors turned into ``path: message`` lines that name the place in the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from controller.config.model import HotlineConfig


class ConfigError(Exception):
    """The config file cannot be used; ``problems`` lists each (path, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}: {m}" if p else f"  {m}" for p, m in problems)
        super().__init__(f"{source}: {len(problems)} error(s)\n{lines}")


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


def parse_config(text: str, source: str = "<config>") -> HotlineConfig:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [("", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "the file must hold a mapping at the top level")])
    try:
        return HotlineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_of(exc)) from None


def load_config(path: str | Path) -> HotlineConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [("", f"cannot read: {exc.strerror}")]) from exc
    return parse_config(text, str(p))
