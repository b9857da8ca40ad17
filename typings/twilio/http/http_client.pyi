# Only what controller/notifier/channels.py uses: the library's requests-based client.
from logging import Logger

from requests import Session
from twilio.http import HttpClient

class TwilioHttpClient(HttpClient):
    session: Session | None
    proxy: dict[str, str]
    def __init__(
        self,
        pool_connections: bool = True,
        request_hooks: dict[str, object] | None = None,
        timeout: float | None = None,
        logger: Logger = ...,
        proxy: dict[str, str] | None = None,
        max_retries: int | None = None,
    ) -> None: ...
