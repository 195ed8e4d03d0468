"""Webhook URLs are checked against server-side request forgery.

A scheduled webhook makes the server send a request wherever its owner says, so a hostile URL
could reach the cloud metadata service (``169.254.169.254``), the database on ``localhost`` or
an admin page on the office network. The rules:

- ``https`` only, unless the host is on the admin allow-list ``MARA_WEBHOOK_ALLOW``;
- the host name is resolved and **every** address must be globally routable: loopback,
  link-local (metadata), private, shared (``100.64/10``), multicast, reserved and unspecified
  addresses are refused, unless the host or the address is on the allow-list;
- the check runs again **when connecting** (:class:`GuardedBackend`), on the address actually
  used, so a name that resolves to a public address at creation and to ``127.0.0.1`` later
  (DNS rebinding) is still refused. Proxies from the environment are ignored; redirects are
  not followed.

``MARA_WEBHOOK_ALLOW`` takes host names (``hooks.internal``, ``*.corp.example``) and addresses or
networks (``10.1.2.3``, ``10.0.0.0/8``); only an admin sets it (it is server configuration).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.sync import SyncBackend

from assistant.schedules.cadence import ScheduleInputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeDestination(ScheduleInputError):
    """A webhook URL the SSRF rules refuse (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class AllowList:
    """Hosts and networks an admin allowed (``MARA_WEBHOOK_ALLOW``)."""

    hosts: tuple[str, ...] = ()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> AllowList:
        items = text.split(",") if isinstance(text, str) else list(text)
        hosts, networks = [], []
        for item in (i.strip().lower() for i in items):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.append(item.strip("[]"))
        return cls(tuple(hosts), tuple(networks))

    def host(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        return any(name == h or (h.startswith("*.") and name.endswith(h[1:])) for h in self.hosts)

    def address(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.networks)


def _refused(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached (``None``: a public address)."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        return _refused(mapped)
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not a routable address"
    if ip.is_private or not ip.is_global:
        return "a private or internal address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise UnsafeDestination(f"The webhook host '{host}' does not resolve ({err}).",
                                hint="Check the URL; the receiver must be reachable from the server.") from err
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def check_address(host: str, ip: IPAddress, allow: AllowList) -> None:
    if allow.host(host) or allow.address(ip):
        return
    reason = _refused(ip)
    if reason is not None:
        raise UnsafeDestination(
            f"The webhook host '{host}' resolves to {ip}, {reason}; webhooks may not reach it.",
            hint="Use a public https URL, or ask an admin to allow the host in MARA_WEBHOOK_ALLOW.",
        )


def check_url(url: str, allow: AllowList, *, resolve_host: bool = True) -> str:
    """``url`` when a webhook may be sent there; :class:`UnsafeDestination` naming the rule otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise UnsafeDestination(f"'{url}' is not a valid URL ({err}).", hint="Give an https:// URL.") from err
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeDestination(f"'{url}' is not an http(s) URL with a host.", hint="Give an https:// URL.")
    if parts.username or parts.password:
        raise UnsafeDestination("A webhook URL may not carry a user name or password.",
                                hint="Mara signs each request instead (X-Mara-Signature).")
    if parts.scheme != "https" and not allow.host(host) and not _literal_allowed(host, allow):
        raise UnsafeDestination(f"Webhooks must use https ('{url}' is {parts.scheme}).",
                                hint="Use https, or ask an admin to allow the host in MARA_WEBHOOK_ALLOW.")
    if resolve_host:
        for ip in resolve(host, port or (443 if parts.scheme == "https" else 80)):
            check_address(host, ip, allow)
    return url


def _literal_allowed(host: str, allow: AllowList) -> bool:
    try:
        return allow.address(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return False


class GuardedBackend(SyncBackend):
    """httpcore's network backend with the address check at connect time (see the module docs)."""

    def __init__(self, allow: AllowList) -> None:
        self.allow = allow

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        for ip in addresses:
            check_address(host, ip, self.allow)
        return super().connect_tcp(str(addresses[0]), port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


def guarded_client(allow: AllowList, timeout: float) -> httpx.Client:
    """An httpx client whose every connection passes the SSRF check; no env proxies, no redirects."""
    transport = httpx.HTTPTransport(retries=0)
    transport._pool = httpcore.ConnectionPool(  # the documented transport has no backend hook
        ssl_context=httpx.create_ssl_context(), network_backend=GuardedBackend(allow), max_connections=20)
    return httpx.Client(transport=transport, timeout=timeout, trust_env=False, follow_redirects=False)
