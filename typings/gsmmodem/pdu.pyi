"""The SMS PDU helpers of python-gsmmodem-new that modem/pdu.py calls."""

from datetime import timedelta

class InformationElement:
    id: int
    dataLength: int
    data: bytearray | list[int]

class Concatenation(InformationElement):
    reference: int
    parts: int
    number: int

class Pdu:
    data: bytearray | list[int]
    tpduLength: int

def encodeSmsSubmitPdu(
    number: str,
    text: str,
    reference: int = 0,
    validity: timedelta | None = None,
    smsc: str | None = None,
    requestStatusReport: bool = True,
    rejectDuplicates: bool = False,
    sendFlash: bool = False,
) -> list[Pdu]: ...
def decodeSmsPdu(pdu: str) -> dict[str, object]: ...
def encodeSemiOctets(number: str) -> bytearray: ...
def encodeGsm7(plaintext: str, discardInvalid: bool = False) -> bytearray: ...
def packSeptets(octets: bytes | bytearray, padBits: int = 0) -> bytearray: ...
def encodeUcs2(text: str) -> bytearray: ...
def unpackSeptets(
    septets: bytes | bytearray,
    numberOfSeptets: int | None = None,
    prevOctet: int | None = None,
    shift: int = 7,
) -> bytearray: ...
def decodeGsm7(encodedText: bytes | bytearray | str) -> str: ...
