"""SIP OPTIONS keep-alive: pure message code (``message``) and thin asyncio transports."""
