"""GSM modem: sans-I/O AT protocol, asyncio transport, operations, and an emulator."""
