"""The CLI's HTTP client for the controller API: where to connect, which token, which CA, and every
failure turned into one sentence for a person.

- URL: ``--url``, else ``HOTLINE_URL``, else ``DEFAULT_URL``. ``https://`` URLs verify the server's
  certificate against the system's CAs, or against ``--ca FILE`` / ``HOTLINE_CA`` (a PEM bundle).
- Token: ``--token``, else ``HOTLINE_TOKEN``, else the file that ``--token-file`` or
  ``HOTLINE_TOKEN_FILE`` names (one trailing newline or CRLF is stripped: files written on Windows
  or by ``echo``). A token holding any other control or non-ASCII character is refused before
  anything is sent (exit 2), and no message ever contains the token.
- ``call()`` answers ``(status, body)``; status 0 means no HTTP answer, and the body's ``message``
  then names the URL and why (refused, timed out, certificate not trusted).
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JsonDoc = dict[str, Any]
"""A JSON object of the API's, as httpx decodes it."""

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT_S = 150.0
TOKEN_FILE_MAX = 4096


class BadSetting(Exception):
    """A setting of ours (token, CA file, URL) is unusable: exit 2 with this message."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    token: str | None
    ca: str | None
    timeout: float


def _checked_token(token: str, source: str) -> str:
    for ch in token:
        code = ord(ch)
        if code < 0x21 or code > 0x7E:
            what = {0x0D: "a carriage return", 0x0A: "a line feed", 0x20: "a space"}.get(
                code, "a control or non-ASCII character" if code != 0x09 else "a tab"
            )
            raise BadSetting(
                f"the token from {source} contains {what} (U+{code:04X}); it was not sent. "
                "A token is printable ASCII only: if it came from a file with Windows line "
                "endings, pass the file with --token-file (which strips the line ending)"
            )
    if not token:
        raise BadSetting(f"the token from {source} is empty")
    return token


def _token_from_file(path: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(TOKEN_FILE_MAX + 1)
    except OSError as exc:
        raise BadSetting(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if len(raw) > TOKEN_FILE_MAX:
        raise BadSetting(f"the token file {path} is larger than {TOKEN_FILE_MAX} bytes")
    for ending in (b"\r\n", b"\n"):
        if raw.endswith(ending):
            raw = raw[: -len(ending)]
            break
    return _checked_token(raw.decode("latin-1"), f"the file {path}")


def resolve(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Target:
    """The URL, token, CA and timeout from the options, then the environment."""
    env = os.environ if env is None else env
    url = (getattr(args, "url", None) or env.get("HOTLINE_URL") or DEFAULT_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BadSetting(f"the API URL must start with http:// or https://, not {url[:40]!r}")
    token: str | None = None
    if getattr(args, "token", None):
        token = _checked_token(args.token, "--token")
    elif env.get("HOTLINE_TOKEN"):
        token = _checked_token(env["HOTLINE_TOKEN"], "HOTLINE_TOKEN")
    else:
        path = getattr(args, "token_file", None) or env.get("HOTLINE_TOKEN_FILE")
        if path:
            token = _token_from_file(path)
    ca = getattr(args, "ca", None) or env.get("HOTLINE_CA") or None
    if ca is not None and not Path(ca).is_file():
        raise BadSetting(f"the CA file {ca} does not exist (--ca or HOTLINE_CA)")
    timeout = float(getattr(args, "timeout", DEFAULT_TIMEOUT_S))
    if not 0 < timeout <= 3600:
        raise BadSetting("--timeout must be more than 0 and at most 3600 seconds")
    return Target(url, token, ca, timeout)


def _tls_context(ca: str | None) -> ssl.SSLContext:
    if ca is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=ca)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise BadSetting(f"the CA file {ca} holds no usable PEM certificate ({exc})") from None


def shown_url(url: str) -> str:
    """The URL as messages show it: no ``user:password@``, no control characters."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        url = url.split("://", 1)[0] + "://…"
    return "".join(ch if ch.isprintable() else "?" for ch in url)[:200]


def _reach_error(url: str, exc: Exception) -> str:
    """One sentence for a failed request, naming the URL, never echoing headers."""
    import httpx

    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(exc, ssl.SSLCertVerificationError):
        why = text.split("certificate verify failed:", 1)[-1].split("(_ssl")[0].strip(" )")
        return (
            f"cannot reach the controller at {url}: its TLS certificate is not trusted "
            f"({why or 'verify failed'}); pass the CA that signed it with --ca FILE or HOTLINE_CA"
        )
    if isinstance(exc, httpx.TimeoutException):
        return f"cannot reach the controller at {url}: no answer in time (--timeout)"
    if isinstance(exc, httpx.ConnectError):
        reason = "connection refused" if "refused" in text.lower() else text or "cannot connect"
        if "SSL" in text or "TLS" in text:
            reason = f"TLS handshake failed ({text})"
        return f"cannot reach the controller at {url}: {reason}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"cannot reach the controller at {url}: it answered something other than HTTP"
    return f"cannot reach the controller at {url}: {type(exc).__name__}"


def clear_text_warning(target: Target) -> str | None:
    """A warning when the token would cross a network unencrypted (http:// off loopback)."""
    from urllib.parse import urlsplit

    if target.token is None or not target.url.startswith("http://"):
        return None
    try:
        host = urlsplit(target.url).hostname or ""
    except ValueError:
        return None
    if host == "localhost" or host.startswith("127.") or host == "::1":
        return None
    return (
        f"warning: the token goes to {shown_url(target.url)} in clear text; "
        "use https:// (and --ca) for an API off this machine"
    )


class ApiClient:
    """One connection per call (a CLI makes one or two): nothing is left open on exit."""

    def __init__(self, target: Target) -> None:
        self.url = shown_url(target.url)
        self._target = target
        warning = clear_text_warning(target)
        if warning is not None:
            print(warning, file=sys.stderr)
        self._verify: ssl.SSLContext | bool = (
            _tls_context(target.ca) if target.url.startswith("https://") else True
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        json: JsonDoc | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> tuple[int, object]:
        """The HTTP status (0: no answer) and the decoded JSON body."""
        import httpx

        t = self._target
        headers = {"Authorization": f"Bearer {t.token}"} if t.token else {}
        try:
            with httpx.Client(
                base_url=t.url, headers=headers, timeout=t.timeout, verify=self._verify
            ) as http:
                resp = http.request(method, path, json=json, params=params)
        except httpx.InvalidURL:
            raise BadSetting(f"not a usable API URL: {self.url}") from None
        except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
            return 0, {"message": _reach_error(self.url, exc)}
        try:
            body = resp.json()
        except ValueError:
            body = {"message": f"HTTP {resp.status_code} from {self.url} without a JSON answer"}
        return resp.status_code, body


def api_args(p: argparse.ArgumentParser) -> None:
    """The options every command over the API takes."""
    g = p.add_argument_group("connection")
    g.add_argument(
        "--url",
        help=f"controller API base URL (env HOTLINE_URL; default {DEFAULT_URL})",
    )
    g.add_argument("--token", help="API bearer token (env HOTLINE_TOKEN; never printed)")
    g.add_argument(
        "--token-file",
        metavar="FILE",
        help="read the token from FILE, one trailing newline stripped (env HOTLINE_TOKEN_FILE)",
    )
    g.add_argument(
        "--ca",
        metavar="FILE",
        help="PEM CA bundle to verify an https:// API's certificate "
        "(env HOTLINE_CA; default: the system's CAs)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds to wait for an answer (a verified switch can take minutes)",
    )
    p.add_argument("--json", action="store_true", help="print the API's JSON answer as is")
