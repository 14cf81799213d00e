"""Which callback URLs the farm may POST to.

Why: a webhook makes the farm send requests to an address a client chose. Without checks that is
a server-side request forgery: a client could aim it at the cloud metadata service (credentials at
169.254.169.254), at the farm's own Redis or database, or at anything else on the private network.
The form of the URL is checked by the request schema; where it points is checked at submission and
again before every delivery (DNS may have changed in between: "DNS rebinding").
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from shared.errors import BadInputError

ALLOWED_SCHEMES = ("http", "https")
# Names of cloud metadata services that do not resolve to a link-local address everywhere.
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
# Link-local (which holds AWS/GCP/Azure metadata at 169.254.169.254) and AWS's IPv6 metadata address.
ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnresolvedHostError(BadInputError):
    """The callback host did not resolve: refused at submission, retried at delivery (DNS may recover)."""


def check_url_form(url: str) -> str:
    """``url`` when it is an absolute http(s) URL with a host and no credentials; ValueError otherwise.

    Used by the job schema, so a malformed URL is a 422 naming the field.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValueError("the callback URL must use http or https")
    if not parts.hostname:
        raise ValueError("the callback URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the callback URL must not hold credentials; webhooks are signed instead")
    if port == 0:
        raise ValueError("the callback URL has no valid port")
    if any(ch.isspace() for ch in url):
        raise ValueError("the callback URL must not contain spaces")
    return url


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why the farm will not send to ``address``, or None when it may."""
    if address.version == 6 and address.ipv4_mapped is not None:  # type: ignore[union-attr]
        address = address.ipv4_mapped  # type: ignore[union-attr]
    if any(address in network for network in ALWAYS_REFUSED):
        return "a link-local or cloud metadata address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "a multicast, unspecified or reserved address"
    if not allow_private and (address.is_loopback or address.is_private or not address.is_global):
        return "a loopback or private address (set webhook_allow_private to allow it)"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (all are checked: a client may not pick the harmless one)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvedHostError(f"the callback host {host!r} does not resolve: {exc}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_webhook_target(url: str, *, allow_private: bool) -> str:
    """``url`` when the farm may POST to it; BadInputError (400) saying why not otherwise."""
    try:
        check_url_form(url)
    except ValueError as exc:
        raise BadInputError(str(exc), details={"callback_url": url}) from None
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise BadInputError("the callback URL names a cloud metadata service", details={"callback_url": url})
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    for address in resolve(host, port):
        reason = refusal(address, allow_private)
        if reason is not None:
            raise BadInputError(f"the callback URL resolves to {address}, {reason}", details={"callback_url": url})
    return url
