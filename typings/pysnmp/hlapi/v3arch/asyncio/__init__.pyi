# pysnmp.hlapi.v3arch.asyncio: the engine, credentials, target and GET of health/probes/snmp.py.
from collections.abc import Iterator
from typing import Final, Self

from pysnmp.proto.errind import ErrorIndication

_ProtocolId = tuple[int, ...]  # an OID naming a USM auth/priv protocol

usmHMACMD5AuthProtocol: Final[_ProtocolId]
usmHMACSHAAuthProtocol: Final[_ProtocolId]
usmHMAC192SHA256AuthProtocol: Final[_ProtocolId]
usmHMAC384SHA512AuthProtocol: Final[_ProtocolId]
usmDESPrivProtocol: Final[_ProtocolId]
usmAesCfb128Protocol: Final[_ProtocolId]
usmAesCfb192Protocol: Final[_ProtocolId]
usmAesCfb256Protocol: Final[_ProtocolId]

class SnmpEngine:
    def __init__(self) -> None: ...
    def close_dispatcher(self) -> None: ...

class CommunityData:
    def __init__(
        self, communityIndex: str, communityName: str | None = None, mpModel: int | None = None
    ) -> None: ...

class UsmUserData:
    def __init__(
        self,
        userName: str,
        authKey: str | None = None,
        privKey: str | None = None,
        authProtocol: _ProtocolId | None = None,
        privProtocol: _ProtocolId | None = None,
    ) -> None: ...

class ContextData:
    def __init__(self) -> None: ...

class UdpTransportTarget:
    @classmethod
    async def create(
        cls, address: tuple[str, int], timeout: float = 1, retries: int = 5
    ) -> Self: ...

class ObjectIdentity:
    def __init__(self, oid: str) -> None: ...
    def prettyPrint(self) -> str: ...

class ObjectType:
    """(identity, value); the value is a pyasn1 object (Integer, OctetString, NoSuchObject...)."""

    def __init__(self, objectIdentity: ObjectIdentity) -> None: ...
    def __getitem__(self, i: int) -> object: ...
    # Iterable through __getitem__ at run time; declared so `(oid, value) = bind` type-checks.
    def __iter__(self) -> Iterator[object]: ...

class _Integer:
    """A pyasn1 Integer (the reply's error-status and error-index)."""

    def __int__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def prettyPrint(self) -> str: ...

async def get_cmd(
    snmpEngine: SnmpEngine,
    authData: CommunityData | UsmUserData,
    transportTarget: UdpTransportTarget,
    contextData: ContextData,
    *varBinds: ObjectType,
) -> tuple[ErrorIndication | None, _Integer | int, _Integer | int, tuple[ObjectType, ...]]: ...
