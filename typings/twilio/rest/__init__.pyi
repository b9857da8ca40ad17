# Only what controller/notifier/channels.py uses: Client(...).messages.create(...).sid.
# (At run time MessageList and MessageInstance live in twilio.rest.api.v2010.account.message.)
from twilio.http import HttpClient

class MessageInstance:
    sid: str | None

class MessageList:
    def create(
        self,
        to: str,
        *,
        from_: str = ...,
        messaging_service_sid: str = ...,
        body: str = ...,
    ) -> MessageInstance: ...

class Client:
    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        account_sid: str | None = None,
        region: str | None = None,
        http_client: HttpClient | None = None,
        environment: dict[str, str] | None = None,
        edge: str | None = None,
    ) -> None: ...
    @property
    def messages(self) -> MessageList: ...
