"""SNMP probe against a real net-snmp snmpd on loopback (private config, v2c and v3 USM)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from health.probes import ProbeContext, build_probe
from health.sample import ProbeResult
from health.specs import SnmpProbeSpec

pytestmark = pytest.mark.slow

SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
CALLS = "1.3.6.1.4.1.99999.1.1.0"  # served by the pass_persist helper from a file


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    c = ProbeContext()
    yield c
    await c.close()


async def run(
    ctx: ProbeContext, snmpd: Any, checks: list[dict[str, Any]], **kw: Any
) -> ProbeResult:
    spec = {"type": "snmp", "host": "127.0.0.1", "port": snmpd.peer.port, "checks": checks}
    spec.setdefault("community", snmpd.community)
    spec.update(kw)
    return await build_probe(SnmpProbeSpec.model_validate(spec), ctx).run(1.0)


async def test_v2c_exists_equals_and_thresholds(ctx: ProbeContext, snmpd: Any) -> None:
    result = await run(
        ctx,
        snmpd,
        [
            {"oid": SYS_LOCATION, "expect": "equals", "value": "hotline-lab"},
            {"oid": SYS_UPTIME, "expect": "at_least", "value": 0},
            {"oid": CALLS, "expect": "at_most", "value": 10},
        ],
    )
    assert result.ok, result.reason
    assert result.reason.startswith("SNMP ok (hotline-lab,")


async def test_v2c_mismatch_and_missing(ctx: ProbeContext, snmpd: Any) -> None:
    wrong = await run(ctx, snmpd, [{"oid": SYS_LOCATION, "expect": "equals", "value": "x"}])
    assert (wrong.ok, wrong.reason) == (False, f"{SYS_LOCATION} = 'hotline-lab', expected 'x'")
    missing = await run(ctx, snmpd, [{"oid": "1.3.6.1.2.1.1.99.0"}])
    assert (missing.ok, missing.reason) == (False, "SNMP noSuchObject 1.3.6.1.2.1.1.99.0")


async def test_changing_value_crosses_threshold(ctx: ProbeContext, snmpd: Any) -> None:
    value = snmpd.peer.workdir / "value"
    check = [{"oid": CALLS, "expect": "at_least", "value": 3}]
    value.write_text("5\n")
    assert (await run(ctx, snmpd, check)).ok
    value.write_text("1\n")
    try:
        result = await run(ctx, snmpd, check)
    finally:
        value.write_text("5\n")
    assert (result.ok, result.reason) == (False, f"{CALLS} = 1 < 3")


async def test_wrong_community_is_silence(ctx: ProbeContext, snmpd: Any) -> None:
    result = await run(ctx, snmpd, [{"oid": SYS_LOCATION}], community="not-the-community")
    assert (result.ok, result.reason) == (False, "timeout")
    assert "not-the-community" not in result.reason


async def test_v3_auth_priv(ctx: ProbeContext, snmpd: Any) -> None:
    v3 = {"user": snmpd.user, "auth_key": snmpd.auth, "priv_key": snmpd.priv}
    ok = await run(ctx, snmpd, [{"oid": SYS_LOCATION}], version="3", v3=v3)
    assert ok.ok, ok.reason
    bad = await run(
        ctx, snmpd, [{"oid": SYS_LOCATION}], version="3", v3={**v3, "auth_key": "wrong-key-99"}
    )
    assert not bad.ok and "digest" in bad.reason.lower()
    assert snmpd.auth not in bad.reason and "wrong-key-99" not in bad.reason


async def test_v3_auth_no_priv(ctx: ProbeContext, snmpd: Any) -> None:
    v3 = {"user": snmpd.user + "np", "auth_key": snmpd.auth, "priv_protocol": None}
    result = await run(ctx, snmpd, [{"oid": SYS_LOCATION}], version="3", v3=v3)
    assert result.ok, result.reason
