"""The config model: the shipped examples load; bad input is refused with a path for each error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from controller.cli.main import main
from controller.config import ConfigError, HotlineConfig, Route, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _lab() -> dict:
    return yaml.safe_load((EXAMPLES / "lab.yaml").read_text())


def _problems(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump(data, sort_keys=False))
    return dict(info.value.problems)


@pytest.mark.parametrize("name", ["lab.yaml", "production.yaml"])
def test_examples_load(name: str) -> None:
    cfg = load_config(EXAMPLES / name)
    assert cfg.lines.primary.forward_to.startswith("+")
    assert cfg.pbx_cluster.quorum <= len(cfg.pbx_cluster.nodes)


def test_production_example_is_clustered() -> None:
    cfg = load_config(EXAMPLES / "production.yaml")
    assert cfg.coordination.backend == "zookeeper"
    assert cfg.coordination.zookeeper is not None
    assert len(cfg.coordination.zookeeper.hosts) == 3


def test_injection_in_a_number_is_refused_with_its_path() -> None:
    data = _lab()
    data["lines"]["primary"]["forward_to"] = "+420;+CFUN=0"
    problems = _problems(data)
    assert problems["lines.primary.forward_to"] == "not an E.164 number: '+420;+CFUN=0'"


@pytest.mark.parametrize(
    "number",
    ["420212000001", "+4202", "+42021200000123456", "+0420212000001", "+420 212 000 001", "", "+"],
)
def test_numbers_that_are_not_e164(number: str) -> None:
    data = _lab()
    data["oncall"]["technicians"][0]["mobile"] = number
    assert "oncall.technicians.0.mobile" in _problems(data)


def test_unquoted_number_in_yaml_gets_a_hint() -> None:
    text = (EXAMPLES / "lab.yaml").read_text().replace('"+420601000100"', "+420601000100")
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    ((path, msg),) = info.value.problems
    assert path == "hotline.number"
    assert "must be quoted" in msg


def test_every_error_is_listed_at_once() -> None:
    data = _lab()
    data["lines"]["primary"]["forward_to"] = "12"
    data["components"]["trunk-a"]["interval_s"] = -1
    data["components"]["trunk-b"]["colour"] = "red"
    data["hotline"]["modem"]["url"] = "ftp://nowhere"
    problems = _problems(data)
    assert set(problems) >= {
        "lines.primary.forward_to",
        "components.trunk-a.interval_s",
        "components.trunk-b.colour",
        "hotline.modem.url",
    }
    assert problems["components.trunk-b.colour"] == "unknown key"
    assert "greater than 0" in problems["components.trunk-a.interval_s"]


def test_probe_errors_name_the_place_in_the_file_not_the_union_tag() -> None:
    data = _lab()
    data["components"]["trunk-a"]["probes"][0]["uri"] = "http://x"
    assert "components.trunk-a.probes.0.uri" in _problems(data)


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        (
            lambda d: d["lines"]["primary"].update(depends_on=["trunk-z"]),
            "lines.primary.depends_on.0",
            "unknown component 'trunk-z'",
        ),
        (lambda d: d["pbx_cluster"].update(quorum=3), "pbx_cluster.quorum", "exceeds"),
        (
            lambda d: d["pbx_cluster"].update(nodes=["pbx-1", "pbx-9"]),
            "pbx_cluster.nodes.1",
            "unknown component",
        ),
        (
            lambda d: d["oncall"]["rotation"].update(order=["alice", "carol"]),
            "oncall.rotation.order.1",
            "unknown technician",
        ),
        (
            lambda d: d["lines"]["secondary"].update(forward_to=d["hotline"]["number"]),
            "lines.secondary.forward_to",
            "loops",
        ),
        (
            lambda d: d["api"]["tokens"][1].update(name="lab-viewer"),
            "api.tokens.1.name",
            "duplicate",
        ),
    ],
)
def test_cross_field_rules(mutate, path: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    data = _lab()
    mutate(data)
    problems = _problems(data)
    assert fragment in problems[path]


def test_timeout_longer_than_interval_is_refused() -> None:
    data = _lab()
    data["components"]["trunk-a"]["timeout_s"] = 5
    problems = _problems(data)
    assert "must not exceed interval_s" in problems["components.trunk-a"]


def test_duplicate_keys_are_errors() -> None:
    text = (EXAMPLES / "lab.yaml").read_text() + "\nfailover:\n  failback_hold_s: 1\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert "duplicate key 'failover'" in str(info.value)


def test_bad_timezone_and_span() -> None:
    data = _lab()
    data["schedule"]["timezone"] = "Mars/Olympus"
    data["schedule"]["business_hours"]["mon"] = ["17:00-08:00"]
    problems = _problems(data)
    assert "unknown time zone" in problems["schedule.timezone"]
    assert "ends before it starts" in problems["schedule.business_hours.mon.0"]


def test_zookeeper_backend_needs_its_section() -> None:
    data = _lab()
    data["coordination"] = {"backend": "zookeeper"}
    assert "needs a zookeeper" in _problems(data)["coordination"]


def test_short_token_and_bad_pin() -> None:
    data = _lab()
    data["api"]["tokens"][0]["token"] = "short"
    data["hotline"]["modem"]["pin"] = "12ab"
    problems = _problems(data)
    assert "at least 16" in problems["api.tokens.0.token"]
    assert "4 to 8 digits" in problems["hotline.modem.pin"]


def test_config_is_frozen() -> None:
    cfg = load_config(EXAMPLES / "lab.yaml")
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        cfg.failover.failback_hold_s = 1  # type: ignore[misc]


def test_route_number() -> None:
    cfg = load_config(EXAMPLES / "lab.yaml")
    assert cfg.route_number(Route.PRIMARY, "+420777000001") == "+420212000001"
    assert cfg.route_number(Route.ONCALL, "+420777000001") == "+420777000001"


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_check_ok_prints_summary_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(EXAMPLES / "lab.yaml")]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "+420212000001" in out
    assert "lab-admin-token-000001" not in out and "1234" not in out


def test_cli_check_bad_config_exits_2_naming_each_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _lab()
    data["lines"]["primary"]["forward_to"] = "+420;+CFUN=0"
    data["components"]["pbx-1"]["interval_s"] = -5
    data["unknown_section"] = {"x": 1}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "lines.primary.forward_to: not an E.164 number: '+420;+CFUN=0'" in err
    assert "components.pbx-1.interval_s:" in err
    assert "unknown_section: unknown key" in err
    assert "3 error(s)" in err


def test_cli_check_missing_file_exits_2(tmp_path: Path) -> None:
    assert main(["config", "check", str(tmp_path / "nope.yaml")]) == 2


def test_cli_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert {"hotline", "lines", "components"} <= set(schema["required"])


def test_schema_matches_model() -> None:
    assert HotlineConfig.model_json_schema()["title"] == "HotlineConfig"


def test_console_script_entry_runs_as_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "controller", "config", "check", str(EXAMPLES / "lab.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
