"""Is a service reachable? Asked once, with a short timeout, before anything would hang."""

from __future__ import annotations

import socket


def host_reachable(host: str, port: int = 443, timeout: float = 1.5) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True
