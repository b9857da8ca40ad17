"""The ``actuators:`` and ``reconcile:`` config sections: defaults, validation with paths that
match the YAML, secrets kept out of the summary."""

from __future__ import annotations

import pytest

from controller.config import ConfigError, parse_config
from tests.controller.helpers import LAB, lab_config


def test_default_is_the_modem_actuator_alone() -> None:
    data = LAB.read_text()
    cut = data.index("# What a route change does")
    cfg = parse_config(data[:cut])
    assert [a.type for a in cfg.actuators] == ["modem"]
    assert cfg.reconcile.interval_s == 1.0 and not cfg.reconcile.dry_run


def _problems(**sections: object) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        import yaml

        from tests.controller.helpers import lab_dict

        data = lab_dict()
        data.update(sections)
        parse_config(yaml.safe_dump(data))
    return info.value.problems


def test_bad_actuators_are_named_by_their_path() -> None:
    problems = _problems(
        actuators=[
            {"type": "modem"},
            {"type": "modem"},
            {"type": "kamailio", "url": "ftp://x", "set_id": 1, "gateways": {"primary": ["sip:a"]}},
            {"type": "command", "argv": []},
            {"type": "teleport"},
        ]
    )
    paths = {p for p, _ in problems}
    assert "actuators.2.url" in paths
    assert "actuators.3.argv" in paths
    assert any(p.startswith("actuators.4") for p in paths)


def test_duplicate_names_and_two_modems_are_refused() -> None:
    problems = _problems(actuators=[{"type": "modem"}, {"type": "modem"}])
    assert ("actuators", "at most one modem actuator") in problems
    assert ("actuators.1.name", "duplicate actuator name 'modem'") in problems


def test_webhook_token_is_a_secret() -> None:
    cfg = lab_config(
        actuators=[
            {
                "type": "http",
                "url": "https://pbx.example/api",
                "headers": {"Authorization": "Bearer top-secret-0001"},
            }
        ]
    )
    assert "top-secret-0001" not in repr(cfg) and "top-secret-0001" not in str(cfg.actuators)


def test_reconcile_bounds() -> None:
    problems = _problems(reconcile={"interval_s": 0})
    assert [p for p, _ in problems] == ["reconcile.interval_s"]
