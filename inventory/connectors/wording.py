"""Plain words for the network errors connectors meet, with the system's own text kept after them.

"[Errno 111] Connection refused" is true but says nothing to an on-call engineer at 3 a.m.; the
sentence says what it means and what to check, and the raw text stays for whoever digs further.
"""

from __future__ import annotations

import re

# (pattern in the raw text, what it means). The first that matches wins: a refusal often
# carries the words "failed to establish a new connection" too, which say less.
_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"connection refused|errno 111\b|econnrefused", re.IGNORECASE),
        "nothing is listening at the address given (connection refused): is the server running, and are the host and"
        " port right?",
    ),
    (
        re.compile(
            r"name or service not known|nodename nor servname|temporary failure in name resolution"
            r"|getaddrinfo failed|no address associated with hostname|failed to resolve|does not resolve",
            re.IGNORECASE,
        ),
        "the host name could not be found (name not known): check its spelling and the DNS",
    ),
    (
        re.compile(r"timed out|timeout|errno 110\b", re.IGNORECASE),
        "the server did not answer in time (timed out): it may be down, overloaded, or behind a firewall",
    ),
    (
        re.compile(r"no route to host|network is unreachable|errno 11[03]\b|errno 101\b", re.IGNORECASE),
        "the network has no way to that address (no route): check the host and the network between",
    ),
)
DETAIL = "Detail: "


def plain_network_error(message: str) -> str:
    """``message`` led by the meaning of the common network error in it; unchanged when there is none.

    The whole original sentence (which server, the system's own words) follows after "Detail:".
    Idempotent: a message already explained (a group member's error re-raised with its name) is left alone.
    """
    if DETAIL in message:
        return message
    for pattern, meaning in _PLAIN:
        if pattern.search(message):
            return f"{meaning[0].upper()}{meaning[1:]}. {DETAIL}{message}"
    return message
