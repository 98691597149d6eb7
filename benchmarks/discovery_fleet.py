"""A fleet of light DICOM responders on many loopback addresses, for the discovery benchmark.

One asyncio process listens on 127.77.x.y:PORT for each responder (127.0.0.0/8 is all
loopback on Linux). Each address gets a policy chosen from its index, so the benchmark knows
the truth for every endpoint:

* ``accept``         accepts any calling/called AE, answers C-ECHO and A-RELEASE;
* ``reject-calling`` accepts only calling AE ``KNOWNSCU`` (A-ASSOCIATE-RJ 1/1/3 otherwise);
* ``reject-called``  accepts only called AE ``FLEETSCP`` (A-ASSOCIATE-RJ 1/1/7 otherwise);
* ``closed``         nothing listens (connection refused);
* ``silent``         accepts TCP and never sends a byte.

Run: ``python benchmarks/discovery_fleet.py N PORT`` — prints ``ready`` when listening and
serves until killed.
"""

from __future__ import annotations

import asyncio
import struct
import sys

KNOWN_CALLING = b"KNOWNSCU"
OWN_AE = b"FLEETSCP"
POLICIES = ("accept", "accept", "accept", "accept", "reject-calling", "reject-calling", "reject-called",
            "reject-called", "closed", "silent")  # 40% / 20% / 20% / 10% / 10%


def address(index: int) -> str:
    return f"127.77.{index // 250}.{index % 250 + 1}"


def policy(index: int) -> str:
    return POLICIES[index % len(POLICIES)]


def _ac(rq: bytes) -> bytes:
    app = b"1.2.840.10008.3.1.1.1"
    ts = b"1.2.840.10008.1.2"
    items = struct.pack(">BBH", 0x10, 0, len(app)) + app
    sub = struct.pack(">BBH", 0x40, 0, len(ts)) + ts
    # Accept context 1 (radguard and nmap both put Verification first); refuse the others.
    items += struct.pack(">BBHBBBB", 0x21, 0, 4 + len(sub), 1, 0, 0, 0) + sub
    uid = b"1.2.826.0.1.3680043.9.3811.3.0.4"
    name = b"PYNETDICOM_304"
    user = struct.pack(">BBHI", 0x51, 0, 4, 16384) + struct.pack(">BBH", 0x52, 0, len(uid)) + uid
    user += struct.pack(">BBH", 0x55, 0, len(name)) + name
    items += struct.pack(">BBH", 0x50, 0, len(user)) + user
    body = b"\x00\x01\x00\x00" + rq[10:74] + items
    return struct.pack(">BBI", 2, 0, len(body)) + body


def _echo_rsp() -> bytes:
    from pynetdicom.dimse_messages import C_ECHO_RSP
    from pynetdicom.dimse_primitives import C_ECHO
    from pynetdicom.pdu import P_DATA_TF

    primitive = C_ECHO()
    primitive.MessageIDBeingRespondedTo = 1
    primitive.AffectedSOPClassUID = "1.2.840.10008.1.1"
    primitive.Status = 0x0000
    message = C_ECHO_RSP()
    message.primitive_to_message(primitive)
    out = b""
    for p in message.encode_msg(1, 16384):
        pdu = P_DATA_TF()
        pdu.from_primitive(p)
        out += pdu.encode()
    return out


ECHO_RSP = b""
RELEASE_RP = bytes.fromhex("060000000004") + b"\x00" * 4


def _reject(reason: int) -> bytes:
    return struct.pack(">BBIBBBB", 3, 0, 4, 0, 1, 1, reason)


async def _pdu(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = await reader.readexactly(6)
    kind, _r, length = struct.unpack(">BBI", header)
    if length > 1 << 20:
        raise ConnectionError("too big")
    return kind, header + await reader.readexactly(length)


def handler(kind: str):  # type: ignore[no-untyped-def]
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if kind == "silent":
                await reader.read()  # until the client gives up
                return
            pdu_type, rq = await _pdu(reader)
            if pdu_type != 1:
                return
            called, calling = rq[10:26].strip(), rq[26:42].strip()
            if kind == "reject-calling" and calling != KNOWN_CALLING:
                writer.write(_reject(3))
                await writer.drain()
                return
            if kind == "reject-called" and called != OWN_AE:
                writer.write(_reject(7))
                await writer.drain()
                return
            writer.write(_ac(rq))
            while True:
                pdu_type, _data = await _pdu(reader)
                if pdu_type == 4:
                    writer.write(ECHO_RSP)
                elif pdu_type == 5:
                    writer.write(RELEASE_RP)
                    await writer.drain()
                    return
                else:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return serve


async def main(count: int, port: int) -> None:
    global ECHO_RSP
    ECHO_RSP = _echo_rsp()
    servers = []
    for index in range(count):
        kind = policy(index)
        if kind == "closed":
            continue
        servers.append(await asyncio.start_server(handler(kind), address(index), port, backlog=64,
                                                  reuse_address=True))
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
