"""Transport security settings: the API's TLS certificate and ZooKeeper's digest credentials.

``ApiTls`` names the files uvicorn serves the API with; ``ZooKeeperAuth`` the identity every
controller node authenticates to ZooKeeper with, and the monitoring identities that may read the
project's znodes. Secrets stay ``SecretStr``; a password file or variable is read only when the
coordinator starts (``ZooKeeperAuth.password_value``), never logged.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

_DIGEST_ID = re.compile(r"^[A-Za-z0-9_.@-]+:[A-Za-z0-9+/]{27}=$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiTls(_Model):
    """The API's certificate: PEM files, read when the daemon starts (and again on a restart)."""

    cert: Path = Field(description="PEM certificate chain: the server's certificate first")
    key: Path = Field(description="PEM private key (mode 0640, group of the service)")
    client_ca: Path | None = Field(
        default=None,
        description="PEM CA bundle: when set, clients must present a certificate it signed",
    )
    peer_ca: Path | None = Field(
        default=None,
        description="PEM CA bundle that signed the other nodes' API certificates (a follower "
        "reads the leader's logs over HTTPS); default: the system's trust store",
    )


def is_loopback(host: str) -> bool:
    """``localhost`` or an address in 127.0.0.0/8 or ::1; a name other than localhost is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ZooKeeperAuth(_Model):
    """ZooKeeper digest authentication and the ACL put on every znode the project creates.

    Every controller node of one hotline uses the same identity: the leader deletes and rewrites
    znodes that followers created. ``read_ids`` are digest ids (``user:base64(sha1(user:pass))``,
    what ``DigestAuthenticationProvider`` prints), so no monitoring password is stored here.
    """

    username: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: SecretStr | None = Field(default=None, description="inline; or password_file/env")
    password_file: Path | None = Field(default=None, description="a file holding the password")
    password_env: str | None = Field(
        default=None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="an environment variable"
    )
    read_ids: tuple[str, ...] = Field(
        default=(), description="digest ids granted read on the project's znodes (monitoring)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> ZooKeeperAuth:
        given = [self.password, self.password_file, self.password_env]
        if sum(v is not None for v in given) != 1:
            raise ValueError("set exactly one of password, password_file, password_env")
        for rid in self.read_ids:
            if not _DIGEST_ID.match(rid):
                raise ValueError(
                    "read_ids are digest ids user:BASE64 (28 characters ending in '='), "
                    "not passwords"
                )
        return self

    def password_value(self) -> str:
        """The password, from wherever it is configured; ``ValueError`` (no secret in it) if
        the file or variable is missing or empty."""
        if self.password is not None:
            value = self.password.get_secret_value()
        elif self.password_file is not None:
            try:
                value = self.password_file.read_text(encoding="utf-8").strip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(
                    f"cannot read the ZooKeeper password file {self.password_file}: "
                    f"{type(exc).__name__}"
                ) from None
        else:
            value = os.environ.get(str(self.password_env), "")
        if not value or any(ch in value for ch in "\r\n\x00"):
            raise ValueError("the ZooKeeper password is empty or holds a line break or NUL")
        return value
