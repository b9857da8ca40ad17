import socket

class ConnectionHandler:
    _socket: socket.socket | None
