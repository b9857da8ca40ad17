from logging import Logger

class HttpClient:
    """The library's HTTP-client hook (``Client(http_client=...)``)."""

    def __init__(self, logger: Logger, is_async: bool, timeout: float | None = None) -> None: ...
