"""Opening connections under the scan's limits, with a time bound on every step."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from radguard.discovery.limits import Deadline, Limits
from radguard.discovery.tls import client_context

T = TypeVar("T")


class ConnectFailed(Exception):
    """TCP (or the TLS handshake) did not succeed; ``state`` is what that says about the port."""

    def __init__(self, state: str, detail: str) -> None:
        self.state = state  # "closed" or "filtered" (TCP), or "tls-failed"
        self.detail = detail
        super().__init__(detail)


@dataclass
class Conn:
    """One open connection holding one of its host's slots until :meth:`close`."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str = ""
    limits: Limits | None = None
    closed: bool = False

    @property
    def ssl_object(self) -> ssl.SSLObject | None:
        obj = self.writer.get_extra_info("ssl_object")
        return obj if isinstance(obj, ssl.SSLObject) else None

    async def send(self, data: bytes, timeout: float) -> None:
        self.writer.write(data)
        async with asyncio.timeout(timeout):
            await self.writer.drain()

    async def start_tls(self, context: ssl.SSLContext, timeout: float) -> None:
        """Upgrade this connection in place (so a port is probed with one TCP connection)."""
        try:
            await asyncio.wait_for(
                self.writer.start_tls(context, server_hostname=_sni(self.host), ssl_handshake_timeout=timeout),
                timeout,
            )
        except TimeoutError:
            raise ConnectFailed("tls-failed", f"TLS handshake: no answer within {timeout:g}s") from None
        except ssl.SSLError as exc:
            raise ConnectFailed("tls-failed", f"TLS handshake failed: {exc.reason or exc}") from None
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
            raise ConnectFailed("tls-failed", f"TLS handshake: connection lost ({type(exc).__name__})") from None

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        finally:
            if self.limits is not None:
                self.limits.release(self.host)


def _sni(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return None


class Net:
    """Every socket a scan opens goes through here, so limits and timeouts always apply."""

    def __init__(self, limits: Limits, timeout: float, pinned: dict[str, tuple[str, ...]] | None = None) -> None:
        self.limits = limits
        self.timeout = timeout
        self.pinned = pinned or {}
        self._tls: ssl.SSLContext | None = None

    @property
    def tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = client_context()
        return self._tls

    async def open(self, host: str, port: int, tls: bool = False, deadline: Deadline | None = None) -> Conn:
        """Open a connection under the scan's limits; the caller must :meth:`Conn.close` it.

        :param deadline: given for an endpoint's first connection only: past it, raise
            :class:`~radguard.discovery.limits.WindowClosed` instead of connecting.
        """
        await self.limits.acquire(host, deadline)
        try:
            conn = await self._open(host, port, tls)
        except BaseException:
            self.limits.release(host)
            raise
        conn.host, conn.limits = host, self.limits
        return conn

    @asynccontextmanager
    async def connect(self, host: str, port: int, tls: bool = False) -> AsyncIterator[Conn]:
        conn = await self.open(host, port, tls)
        try:
            yield conn
        finally:
            await conn.close()

    async def in_thread(self, host: str, fn: Callable[[str, str | None], T]) -> T:
        """Run a blocking one-connection probe ``fn(address, server_name)`` under the scan's
        limits (a rate token and a host slot), off the event loop. For TLS handshakes that must
        be read step by step (see :mod:`radguard.discovery.tls_scan`)."""
        await self.limits.acquire(host)
        try:
            address = (self.pinned.get(host) or (host,))[0]
            return await asyncio.to_thread(fn, address, _sni(host))
        finally:
            self.limits.release(host)

    async def _open(self, host: str, port: int, tls: bool) -> Conn:
        """Connect to ``host``, or for a pinned host name to its planned addresses in order
        (the first that accepts wins, as the system resolver's order would)."""
        addresses = self.pinned.get(host)
        if not addresses:
            return await self._open_one(host, port, tls, None)
        failure: ConnectFailed | None = None
        for address in addresses:
            try:
                return await self._open_one(address, port, tls, host)
            except ConnectFailed as exc:
                if exc.state == "tls-failed":
                    raise
                failure = exc
        assert failure is not None
        raise failure

    async def _open_one(self, host: str, port: int, tls: bool, name: str | None) -> Conn:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host, port, ssl=self.tls_context if tls else None,
                    server_hostname=_sni(name or host) if tls else None,
                    ssl_handshake_timeout=self.timeout if tls else None,
                    limit=64 * 1024,
                ),
                self.timeout,
            )
        except ConnectionRefusedError:
            raise ConnectFailed("closed", "connection refused") from None
        except TimeoutError:
            raise ConnectFailed("tls-failed" if tls else "filtered",
                                f"no answer within {self.timeout:g}s") from None
        except ssl.SSLError as exc:
            raise ConnectFailed("tls-failed", f"TLS handshake failed: {exc.reason or exc}") from None
        except (ConnectionResetError, asyncio.IncompleteReadError) as exc:
            state = "tls-failed" if tls else "filtered"
            raise ConnectFailed(state, f"connection reset: {exc}") from None
        except OSError as exc:
            raise ConnectFailed("filtered", f"cannot connect: {exc.strerror or exc}") from None
        return Conn(reader, writer)
