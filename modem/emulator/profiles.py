"""Modem profiles: where a real modem's AT manual differs from the plain TS 27.007 / 27.005 one.

``hotline modem-sim --profile NAME`` picks one. A profile only carries what differs; everything
else is the standard behaviour of :mod:`modem.emulator.commands`. Each quirk names the document
it comes from. Where the text was checked here, the chapter is named; "[unchecked]" marks a
quirk taken from field reports or the vendor's habit that the manual's text was not checked for.

Documents:

- 3GPP TS 27.007 (AT command set for User Equipment) and TS 27.005 (SMS): ``standard``.
- "SIM800 Series_AT Command Manual_V1.09" (SIMCom, 2015-08-03), §3.2.5 AT+CCFC: the query
  answers ``+CCFC: 0,7`` when nothing is registered; "only <reason> and <mode> should be entered
  with mode (0-2,4)"; maximum response time 15 s (V1.05 of the same manual). §19.3 Summary of
  Unsolicited Result Codes: ``RDY`` (power-on done, fixed baud rate), ``+CPIN: <code>``,
  ``Call Ready``, ``SMS Ready``. §1.4.4: several commands on one command line.
- "EC25&EC21 AT Commands Manual V1.3" (Quectel, 2018-09-20): ``RDY`` and ``+QIND: SMS DONE``
  after power-up (URC summary) [unchecked]; the +CCFC chapter.
- "HUAWEI UMTS M2M Module V100R001 AT Command Interface Specification" Issue 18 (2009-06-22)
  §21.1.3: a command the module cannot identify is answered ``COMMAND NOT SUPPORT``; "HUAWEI
  MU709 Series HSPA+ Module V100R002 AT Command Interface Specification" Issue 03 (2015-05-13),
  ^USSDMODE chapter: USSD strings are 7-bit packed hex until ``AT^USSDMODE=0`` (python-gsmmodem
  sends exactly that when ``+CLAC`` lists ``^USSDMODE``).
- "u-blox Cellular Modules AT Commands Manual" UBX-13002752 (R51, 2017-05-31), +CCFC chapter.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    stands_for: str
    manufacturer: str
    model: str
    revision: str
    ati: tuple[str, ...]
    latency_s: float = 1.0
    """Realistic time a network operation (+CCFC, +CUSD, ATD codes, +CMGS) takes on this modem."""
    boot_urcs: tuple[str, ...] = ()
    """Sent after power-up and after ``AT+CFUN=1,1``."""
    ccfc: bool = True
    """False: +CCFC is not implemented; forwarding only through TS 22.030 codes (ATD / +CUSD)."""
    ccfc_bare_modes: bool = False
    """Modes 0, 1, 2, 4 read only <reason>,<mode>: a class given there is ignored (all classes)."""
    ccfc_number_without_plus: bool = False
    """Query answers give an international number as digits with type 145, no ``+``."""
    ccfc_per_class_lines: bool = False
    """An inactive query answers one ``+CCFC: 0,<class>`` line per class instead of ``0,7``."""
    unknown_command: str = "ERROR"
    """The final result code for a command the modem does not know."""
    ussd_packed: bool = False
    """+CUSD strings are 7-bit packed hex until ``AT^USSDMODE=0`` (Huawei)."""
    extra_commands: tuple[str, ...] = ()
    """Vendor commands this profile accepts (listed by +CLAC), answered OK."""
    cme_no_network: int = 30
    signal_urc: str | None = None
    """A URC sent when the signal changes, ``{rssi}`` filled in (Huawei ``^RSSI``)."""


STANDARD = Profile(
    name="standard",
    stands_for="any modem that follows 3GPP TS 27.007 / 27.005 to the letter",
    manufacturer="EMU Networks",
    model="HotlineSim 1",
    revision="1.0.0",
    ati=("EMU Networks HotlineSim 1", "Revision: 1.0.0"),
)

SIMCOM = Profile(
    name="simcom",
    stands_for="SIMCom SIM800 / SIM7600",
    manufacturer="SIMCOM_Ltd",
    model="SIMCOM_SIM800",
    revision="Revision:1418B04SIM800L24",
    ati=("SIM800 R14.18",),
    latency_s=2.0,  # §3.2.5: max response time 15 s
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),  # §19.3 (+CFUN: 1
    # is not in that table [unchecked]; SIM800 boards print it between RDY and +CPIN)
    ccfc_bare_modes=True,  # §3.2.5: "Only <reason> and <mode> should be entered with mode (0-2,4)"
    extra_commands=("+CSCLK", "+CBAND"),
)

QUECTEL = Profile(
    name="quectel",
    stands_for="Quectel EC25 / EG25-G",
    manufacturer="Quectel",
    model="EC25",
    revision="EC25EFAR06A06M4G",
    ati=("Quectel", "EC25", "Revision: EC25EFAR06A06M4G"),
    latency_s=1.5,
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "+QIND: SMS DONE"),  # URC summary [unchecked]
    ccfc_number_without_plus=True,  # +CCFC chapter [unchecked]: digits, type 145
    extra_commands=("+QINDCFG", "+QCFG", "+QURCCFG"),
)

HUAWEI = Profile(
    name="huawei",
    stands_for="Huawei E3372 (stick firmware) / MU709",
    manufacturer="huawei",
    model="E3372",
    revision="21.180.01.00.00",
    ati=(
        "Manufacturer: huawei",
        "Model: E3372",
        "Revision: 21.180.01.00.00",
        "+GCAP: +CGSM,+DS,+ES",
    ),
    latency_s=3.0,
    boot_urcs=("^BOOT:0,0,0,0,0",),  # [unchecked]
    ccfc=False,  # E3372 stick firmware carries no voice call commands [unchecked]: codes only
    unknown_command="COMMAND NOT SUPPORT",  # M2M AT spec Issue 18 §21.1.3
    ussd_packed=True,  # MU709 AT spec, ^USSDMODE chapter
    extra_commands=("^USSDMODE", "^SYSINFO", "^CURC"),
    signal_urc="^RSSI: {rssi}",  # MU709 AT spec, ^RSSI chapter (on while ^CURC=1) [unchecked]
)

UBLOX = Profile(
    name="ublox",
    stands_for="u-blox SARA-U201 / TOBY-L210",
    manufacturer="u-blox",
    model="SARA-U201",
    revision="23.60",
    ati=("Manufacturer: u-blox", "Model: SARA-U201", "Revision: 23.60"),
    latency_s=2.5,
    ccfc_per_class_lines=True,  # UBX-13002752 +CCFC chapter [unchecked]
    extra_commands=("+UPSV", "+USIMSTAT"),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (STANDARD, SIMCOM, QUECTEL, HUAWEI, UBLOX)}


def profile_help() -> str:
    """One line per profile for ``hotline modem-sim --help``."""
    return "; ".join(f"{p.name} ({p.stands_for})" for p in PROFILES.values())
