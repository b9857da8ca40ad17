from typing import Any

from kazoo.interfaces import IAsyncResult

class SequentialThreadingHandler:
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def async_result(self) -> IAsyncResult[Any]: ...  # holds whatever the caller sets
