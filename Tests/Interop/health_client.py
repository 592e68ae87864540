#!/usr/bin/env python3
"""An independent Keylake wire-protocol client, written from docs/protocol.md alone.

It uses nothing but Python's standard library (ssl, socket, struct) and the PyPI ``protobuf``
package, and shares no code with the Swift implementation: the message classes are built at run
time from the schemas in ``proto/`` (compiled to a descriptor set by ``protoc``), or, when no
``protoc`` is installed, from a small built-in copy of the few messages it needs, which
``--check-schema`` compares field by field against ``proto/``.

Modes:

  (default)      connect, HELLO, then two pipelined unary calls on one connection:
                 /grpc.health.v1.Health/Check and /keylake.diagnostics.v1.Diagnostics/WhoAmI;
                 prints ``status=SERVING``, ``principal=...`` and a few more ``key=value`` lines.
  --bad-magic    send a HELLO whose magic is wrong; expect GOAWAY PROTOCOL_ERROR, then close.
  --check-schema compare the built-in schema copy with proto/ (needs protoc; no daemon).

Exit status: 0 on success, 1 on any failure (with a message on standard error), 2 on bad usage.

Example, against ``keylake dev up --dir ./keylake-home``:

  python3 Tests/Interop/health_client.py --home ./keylake-home --as app
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import uuid

try:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError:  # pragma: no cover - reported to the user
    print(
        "health_client: error: the Python 'protobuf' package is not installed (pip install protobuf)",
        file=sys.stderr,
    )
    sys.exit(1)

# --------------------------------------------------------------------------------------------
# Protocol constants (docs/protocol.md sections 2 and 3)

ALPN = "keylake/1"
MAGIC = b"KEYLAKE\x00"
PROTOCOL_VERSION = 1
FRAME_HEADER = struct.Struct(">IBBI")  # length, type, flags, stream id: 10 bytes, big-endian
assert FRAME_HEADER.size == 10

HELLO, HEADERS, MESSAGE, STATUS, CANCEL, PING, GOAWAY = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
FRAME_NAMES = {
    HELLO: "HELLO", HEADERS: "HEADERS", MESSAGE: "MESSAGE", STATUS: "STATUS",
    CANCEL: "CANCEL", PING: "PING", GOAWAY: "GOAWAY",
}
END_STREAM = 0x01
ACK = 0x01

# What this client accepts from the server; it announces the same in its HELLO.
MAX_FRAME_SIZE = 4 * 1024 * 1024

STATUS_CODE_NAMES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
WHO_AM_I = "/keylake.diagnostics.v1.Diagnostics/WhoAmI"

PROTO_FILES = [
    "keylake/transport/v1/transport.proto",
    "grpc/health/v1/health.proto",
    "keylake/diagnostics/v1/diagnostics.proto",
]


class ClientError(Exception):
    """A failure to report to the user; ends the program with exit status 1."""


# --------------------------------------------------------------------------------------------
# Schemas

# The messages this client uses, copied from proto/. --check-schema proves the copy is exact.
# A field is (name, number, type) or (name, number, type, oneof); a type is a scalar name,
# "repeated <type>", or a fully qualified message/enum name starting with ".".
BUILTIN_SCHEMA = [
    {
        "file": "keylake/transport/v1/transport.proto",
        "package": "keylake.transport.v1",
        "messages": [
            ("Settings", [
                ("max_frame_size", 1, "uint32"),
                ("max_concurrent_streams", 2, "uint32"),
                ("max_header_bytes", 3, "uint32"),
                ("idle_timeout_ms", 4, "uint32"),
            ]),
            ("Hello", [
                ("version", 1, "uint32"),
                ("settings", 2, ".keylake.transport.v1.Settings"),
                ("agent", 3, "string"),
            ]),
            ("MetadataEntry", [
                ("key", 1, "string"),
                ("text", 2, "string", "value"),
                ("binary", 3, "bytes", "value"),
            ]),
            ("RequestHeaders", [
                ("method", 1, "string"),
                ("timeout_micros", 2, "uint64"),
                ("request_id", 3, "string"),
                ("traceparent", 4, "string"),
                ("tracestate", 5, "string"),
                ("on_behalf_of", 6, "string"),
                ("metadata", 7, "repeated .keylake.transport.v1.MetadataEntry"),
            ]),
            ("ResponseHeaders", [
                ("metadata", 1, "repeated .keylake.transport.v1.MetadataEntry"),
            ]),
            ("Status", [
                ("code", 1, "uint32"),
                ("message", 2, "string"),
                ("error_name", 3, "string"),
                ("trailers", 4, "repeated .keylake.transport.v1.MetadataEntry"),
            ]),
            ("GoAway", [
                ("last_stream_id", 1, "uint32"),
                ("code", 2, ".keylake.transport.v1.GoAwayCode"),
                ("reason", 3, "string"),
            ]),
        ],
        "enums": [
            ("GoAwayCode", [
                ("GO_AWAY_CODE_NO_ERROR", 0),
                ("GO_AWAY_CODE_PROTOCOL_ERROR", 1),
                ("GO_AWAY_CODE_FRAME_TOO_LARGE", 2),
                ("GO_AWAY_CODE_VERSION_MISMATCH", 3),
                ("GO_AWAY_CODE_HELLO_TIMEOUT", 4),
                ("GO_AWAY_CODE_IDLE_TIMEOUT", 5),
                ("GO_AWAY_CODE_ENHANCE_YOUR_CALM", 6),
                ("GO_AWAY_CODE_INTERNAL_ERROR", 7),
            ]),
        ],
    },
    {
        "file": "grpc/health/v1/health.proto",
        "package": "grpc.health.v1",
        "messages": [
            ("HealthCheckRequest", [("service", 1, "string")]),
            ("HealthCheckResponse", [("status", 1, ".grpc.health.v1.HealthCheckResponse.ServingStatus")], [
                ("ServingStatus", [("UNKNOWN", 0), ("SERVING", 1), ("NOT_SERVING", 2), ("SERVICE_UNKNOWN", 3)]),
            ]),
        ],
        "enums": [],
    },
    {
        "file": "keylake/diagnostics/v1/diagnostics.proto",
        "package": "keylake.diagnostics.v1",
        "messages": [
            ("WhoAmIRequest", []),
            ("WhoAmIResponse", [
                ("principal", 1, "string"),
                ("on_behalf_of", 2, "string"),
                ("request_id", 3, "string"),
                ("server", 4, "string"),
            ]),
        ],
        "enums": [],
    },
]

_SCALAR_TYPES = {
    "uint32": descriptor_pb2.FieldDescriptorProto.TYPE_UINT32,
    "uint64": descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "bytes": descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
}


def _json_name(name: str) -> str:
    """protoc's default JSON name: snake_case to lowerCamelCase."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def builtin_descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """The built-in schema copy as a FileDescriptorSet shaped like protoc's output."""
    enum_names = set()
    for spec in BUILTIN_SCHEMA:
        for name, _ in spec["enums"]:
            enum_names.add(f".{spec['package']}.{name}")
        for message in spec["messages"]:
            for name, _ in (message[2] if len(message) > 2 else []):
                enum_names.add(f".{spec['package']}.{message[0]}.{name}")

    fds = descriptor_pb2.FileDescriptorSet()
    for spec in BUILTIN_SCHEMA:
        file = fds.file.add(name=spec["file"], package=spec["package"], syntax="proto3")
        for message in spec["messages"]:
            name, fields = message[0], message[1]
            proto = file.message_type.add(name=name)
            oneofs: list[str] = []
            for field in fields:
                field_name, number, type_spec = field[0], field[1], field[2]
                label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
                if type_spec.startswith("repeated "):
                    label = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
                    type_spec = type_spec[len("repeated "):]
                entry = proto.field.add(name=field_name, number=number, label=label, json_name=_json_name(field_name))
                if type_spec.startswith("."):
                    entry.type_name = type_spec
                    entry.type = (
                        descriptor_pb2.FieldDescriptorProto.TYPE_ENUM
                        if type_spec in enum_names
                        else descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
                    )
                else:
                    entry.type = _SCALAR_TYPES[type_spec]
                if len(field) > 3:
                    if field[3] not in oneofs:
                        oneofs.append(field[3])
                        proto.oneof_decl.add(name=field[3])
                    entry.oneof_index = oneofs.index(field[3])
            for enum_name, values in (message[2] if len(message) > 2 else []):
                enum = proto.enum_type.add(name=enum_name)
                for value_name, value_number in values:
                    enum.value.add(name=value_name, number=value_number)
        for enum_name, values in spec["enums"]:
            enum = file.enum_type.add(name=enum_name)
            for value_name, value_number in values:
                enum.value.add(name=value_name, number=value_number)
    return fds


def find_protoc() -> str | None:
    """$PROTOC, else protoc on PATH."""
    candidate = os.environ.get("PROTOC")
    if candidate:
        return candidate
    return shutil.which("protoc")


def protoc_descriptor_set(proto_root: str) -> descriptor_pb2.FileDescriptorSet:
    """Compiles the schemas under proto_root with protoc into a FileDescriptorSet."""
    protoc = find_protoc()
    if protoc is None:
        raise ClientError("protoc not found (install protobuf-compiler, or set $PROTOC)")
    for relative in PROTO_FILES:
        if not os.path.isfile(os.path.join(proto_root, relative)):
            raise ClientError(f"schema {relative} not found under {proto_root} (pass --proto-root)")
    with tempfile.TemporaryDirectory(prefix="keylake-interop-") as scratch:
        output = os.path.join(scratch, "schemas.pb")
        command = [protoc, f"--proto_path={proto_root}", "--include_imports", f"--descriptor_set_out={output}"]
        try:
            result = subprocess.run(command + PROTO_FILES, capture_output=True, text=True, timeout=60)
        except OSError as error:
            raise ClientError(f"cannot run {protoc}: {error}") from error
        if result.returncode != 0:
            raise ClientError(f"protoc failed ({result.returncode}): {result.stderr.strip()}")
        with open(output, "rb") as handle:
            return descriptor_pb2.FileDescriptorSet.FromString(handle.read())


class Schema:
    """Message classes built at run time from a FileDescriptorSet (no generated code)."""

    def __init__(self, fds: descriptor_pb2.FileDescriptorSet, source: str):
        self.source = source
        pool = descriptor_pool.DescriptorPool()
        for file in fds.file:
            pool.Add(file)

        # GetMessageClass is protobuf >= 4.22; older runtimes (e.g. Debian's python3-protobuf)
        # have MessageFactory.GetPrototype, which later releases removed.
        get_class = getattr(message_factory, "GetMessageClass", None)
        if get_class is None:
            get_class = message_factory.MessageFactory(pool).GetPrototype

        def message(full_name: str):
            return get_class(pool.FindMessageTypeByName(full_name))

        self.Settings = message("keylake.transport.v1.Settings")
        self.Hello = message("keylake.transport.v1.Hello")
        self.RequestHeaders = message("keylake.transport.v1.RequestHeaders")
        self.ResponseHeaders = message("keylake.transport.v1.ResponseHeaders")
        self.Status = message("keylake.transport.v1.Status")
        self.GoAway = message("keylake.transport.v1.GoAway")
        self.HealthCheckRequest = message("grpc.health.v1.HealthCheckRequest")
        self.HealthCheckResponse = message("grpc.health.v1.HealthCheckResponse")
        self.WhoAmIRequest = message("keylake.diagnostics.v1.WhoAmIRequest")
        self.WhoAmIResponse = message("keylake.diagnostics.v1.WhoAmIResponse")
        self._go_away_codes = pool.FindEnumTypeByName("keylake.transport.v1.GoAwayCode")
        self._serving_status = pool.FindEnumTypeByName("grpc.health.v1.HealthCheckResponse.ServingStatus")

    def go_away_code_name(self, number: int) -> str:
        value = self._go_away_codes.values_by_number.get(number)
        return value.name.removeprefix("GO_AWAY_CODE_") if value else f"UNKNOWN_CODE_{number}"

    def serving_status_name(self, number: int) -> str:
        value = self._serving_status.values_by_number.get(number)
        return value.name if value else f"UNKNOWN_STATUS_{number}"


def load_schema(mode: str, proto_root: str) -> Schema:
    if mode == "builtin" or (mode == "auto" and find_protoc() is None):
        return Schema(builtin_descriptor_set(), "builtin")
    return Schema(protoc_descriptor_set(proto_root), f"protoc:{proto_root}")


def check_schema(proto_root: str) -> None:
    """Fails unless every built-in message and enum equals its definition in proto/."""
    compiled = {file.name: file for file in protoc_descriptor_set(proto_root).file}
    problems = []
    checked = 0
    for builtin in builtin_descriptor_set().file:
        source = compiled.get(builtin.name)
        if source is None:
            problems.append(f"{builtin.name}: not produced by protoc")
            continue
        if source.package != builtin.package or source.syntax != builtin.syntax:
            problems.append(f"{builtin.name}: package/syntax differ")
        messages = {message.name: message for message in source.message_type}
        enums = {enum.name: enum for enum in source.enum_type}
        for message in builtin.message_type:
            checked += 1
            if messages.get(message.name) != message:
                problems.append(
                    f"message {builtin.package}.{message.name} differs:\n"
                    f"--- proto/\n{messages.get(message.name)}\n--- built-in\n{message}"
                )
        for enum in builtin.enum_type:
            checked += 1
            if enums.get(enum.name) != enum:
                problems.append(f"enum {builtin.package}.{enum.name} differs:\n--- proto/\n{enums.get(enum.name)}\n--- built-in\n{enum}")
    if problems:
        raise ClientError("the built-in schema copy has drifted from proto/:\n" + "\n".join(problems))
    print(f"schema=ok checked={checked}")


# --------------------------------------------------------------------------------------------
# Framing


def encode_frame(frame_type: int, stream_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    return FRAME_HEADER.pack(len(payload), frame_type, flags, stream_id) + payload


class Connection:
    """One TLS 1.3 connection speaking frames."""

    def __init__(self, args: argparse.Namespace):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.maximum_version = ssl.TLSVersion.TLSv1_3
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        try:
            context.load_verify_locations(cafile=args.ca)
            context.load_cert_chain(certfile=args.cert, keyfile=args.key)
        except (OSError, ssl.SSLError) as error:
            raise ClientError(f"cannot load TLS files (cert {args.cert}, key {args.key}, CA {args.ca}): {error}") from error
        context.set_alpn_protocols([ALPN])

        self.deadline = time.monotonic() + args.timeout
        try:
            raw = socket.create_connection((args.host, args.port), timeout=args.timeout)
        except OSError as error:
            raise ClientError(f"cannot connect to {args.host}:{args.port}: {error}") from error
        try:
            self.sock = context.wrap_socket(raw, server_hostname=args.server_name)
        except (OSError, ssl.SSLError) as error:
            raw.close()
            raise ClientError(f"TLS handshake with {args.host}:{args.port} failed: {error}") from error
        self.buffer = b""
        problem = None
        if self.sock.version() != "TLSv1.3":
            problem = f"negotiated {self.sock.version()}, not TLSv1.3"
        elif self.sock.selected_alpn_protocol() != ALPN:
            problem = f"server did not select ALPN {ALPN!r} (got {self.sock.selected_alpn_protocol()!r})"
        if problem is not None:
            self.close()
            raise ClientError(problem)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as error:
            raise ClientError(f"send failed: {error}") from error

    def _fill(self, count: int) -> bool:
        """Reads until `count` bytes are buffered; False on a clean or abrupt close by the peer."""
        while len(self.buffer) < count:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                raise TimeoutError from None
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError, ConnectionResetError, BrokenPipeError):
                return False
            except ssl.SSLError as error:
                # A TLS alert from the server (e.g. our certificate was refused) ends the connection.
                raise ClientError(f"TLS error while reading: {error}") from error
            if not chunk:
                return False
            self.buffer += chunk
        return True

    def read_frame(self):
        """The next frame as (type, flags, stream_id, payload), or None when the peer closed."""
        if not self._fill(FRAME_HEADER.size):
            if self.buffer:
                raise ClientError(f"connection closed inside a frame header ({len(self.buffer)} bytes)")
            return None
        length, frame_type, flags, stream_id = FRAME_HEADER.unpack(self.buffer[: FRAME_HEADER.size])
        if length > MAX_FRAME_SIZE:
            raise ClientError(f"server sent a {length}-byte frame, over this client's limit of {MAX_FRAME_SIZE}")
        if not self._fill(FRAME_HEADER.size + length):
            raise ClientError(f"connection closed inside a {FRAME_NAMES.get(frame_type, hex(frame_type))} frame")
        payload = self.buffer[FRAME_HEADER.size : FRAME_HEADER.size + length]
        self.buffer = self.buffer[FRAME_HEADER.size + length :]
        return frame_type, flags, stream_id, payload


def parse(message_class, payload: bytes, what: str):
    try:
        return message_class.FromString(payload)
    except Exception as error:  # protobuf raises DecodeError; any failure is the same to us
        raise ClientError(f"cannot parse {what}: {error}") from error


def hello_frame(schema: Schema, magic: bytes = MAGIC) -> bytes:
    hello = schema.Hello(
        version=PROTOCOL_VERSION,
        settings=schema.Settings(max_frame_size=MAX_FRAME_SIZE),
        agent="keylake-interop-python/1",
    )
    return encode_frame(HELLO, 0, magic + hello.SerializeToString())


# --------------------------------------------------------------------------------------------
# Modes


class Call:
    def __init__(self, stream_id: int, method: str, response_class):
        self.stream_id = stream_id
        self.method = method
        self.response_class = response_class
        self.headers = None
        self.messages = []
        self.status = None


def run_calls(args: argparse.Namespace, schema: Schema) -> int:
    request_id = f"interop-{uuid.uuid4()}"
    connection = Connection(args)
    try:
        print(f"tls={connection.sock.version()} alpn={connection.sock.selected_alpn_protocol()}")
        calls = [
            Call(1, HEALTH_CHECK, schema.HealthCheckResponse),
            Call(2, WHO_AM_I, schema.WhoAmIResponse),
        ]
        requests = {1: schema.HealthCheckRequest(service=""), 2: schema.WhoAmIRequest()}
        # The client may send further frames straight after its HELLO (section 1, step 5); both
        # calls go out before anything is read, so they are in flight together on one connection.
        outgoing = hello_frame(schema)
        for call in calls:
            headers = schema.RequestHeaders(
                method=call.method, timeout_micros=int(args.timeout * 1_000_000), request_id=request_id
            )
            outgoing += encode_frame(HEADERS, call.stream_id, headers.SerializeToString())
            outgoing += encode_frame(MESSAGE, call.stream_id, requests[call.stream_id].SerializeToString(), END_STREAM)
        connection.send(outgoing)

        by_stream = {call.stream_id: call for call in calls}
        server_hello = None
        try:
            while any(call.status is None for call in calls):
                frame = connection.read_frame()
                if frame is None:
                    raise ClientError("server closed the connection before answering every call")
                frame_type, flags, stream_id, payload = frame
                name = FRAME_NAMES.get(frame_type, f"type 0x{frame_type:02x}")
                if server_hello is None:
                    if frame_type == GOAWAY:
                        go_away = parse(schema.GoAway, payload, "GOAWAY")
                        raise ClientError(
                            f"server sent GOAWAY {schema.go_away_code_name(go_away.code)} instead of HELLO: {go_away.reason}"
                        )
                    if frame_type != HELLO or stream_id != 0:
                        raise ClientError(f"server's first frame is {name} on stream {stream_id}, not HELLO")
                    if payload[: len(MAGIC)] != MAGIC:
                        raise ClientError(f"server HELLO has bad magic {payload[:len(MAGIC)]!r}")
                    server_hello = parse(schema.Hello, payload[len(MAGIC):], "server HELLO")
                    if server_hello.version != PROTOCOL_VERSION:
                        raise ClientError(f"server speaks protocol version {server_hello.version}, not {PROTOCOL_VERSION}")
                    print(f"server_hello version={server_hello.version} agent={server_hello.agent or '-'}")
                    continue
                if frame_type == PING:
                    if stream_id != 0 or len(payload) != 8:
                        raise ClientError(f"malformed PING (stream {stream_id}, {len(payload)} bytes)")
                    if not flags & ACK:
                        connection.send(encode_frame(PING, 0, payload, ACK))
                    continue
                if frame_type == GOAWAY:
                    go_away = parse(schema.GoAway, payload, "GOAWAY")
                    raise ClientError(
                        f"server sent GOAWAY {schema.go_away_code_name(go_away.code)} "
                        f"(last stream {go_away.last_stream_id}): {go_away.reason}"
                    )
                call = by_stream.get(stream_id)
                if call is None:
                    raise ClientError(f"server sent {name} on unknown stream {stream_id}")
                if call.status is not None:
                    raise ClientError(f"server sent {name} on stream {stream_id} after its STATUS")
                if frame_type == HEADERS:
                    if call.headers is not None or call.messages:
                        raise ClientError(f"unexpected HEADERS on stream {stream_id}")
                    call.headers = parse(schema.ResponseHeaders, payload, "ResponseHeaders")
                elif frame_type == MESSAGE:
                    call.messages.append(parse(call.response_class, payload, f"{call.method} response"))
                elif frame_type == STATUS:
                    call.status = parse(schema.Status, payload, "Status")
                else:
                    raise ClientError(f"unexpected {name} frame on stream {stream_id}")
        except TimeoutError:
            raise ClientError(f"no complete answer within {args.timeout}s") from None

        for call in calls:
            code = call.status.code
            if code != 0:
                code_name = STATUS_CODE_NAMES[code] if code < len(STATUS_CODE_NAMES) else str(code)
                error_name = f" [{call.status.error_name}]" if call.status.error_name else ""
                raise ClientError(f"{call.method} failed: {code_name} ({code}){error_name}: {call.status.message}")
            if len(call.messages) != 1:
                raise ClientError(f"{call.method}: expected one response message, got {len(call.messages)}")

        health, who = calls[0].messages[0], calls[1].messages[0]
        status_name = schema.serving_status_name(health.status)
        print(f"status={status_name}")
        print(f"principal={who.principal}")
        print(f"server={who.server}")
        print(f"request_id={who.request_id}")
        if who.request_id != request_id:
            raise ClientError(f"server saw request id {who.request_id!r}, not the {request_id!r} sent")
        if status_name != "SERVING":
            raise ClientError(f"health status is {status_name}, not SERVING")
        if args.expect_principal is not None and who.principal != args.expect_principal:
            raise ClientError(f"principal is {who.principal!r}, expected {args.expect_principal!r}")
        return 0
    finally:
        connection.close()


def run_bad_magic(args: argparse.Namespace, schema: Schema) -> int:
    connection = Connection(args)
    try:
        connection.send(hello_frame(schema, magic=b"NOTKEYLK"))
        go_away = None
        try:
            while True:
                frame = connection.read_frame()
                if frame is None:
                    break
                frame_type, _, stream_id, payload = frame
                if go_away is not None:
                    raise ClientError(f"server sent {FRAME_NAMES.get(frame_type, hex(frame_type))} after its GOAWAY")
                if frame_type != GOAWAY:
                    raise ClientError(
                        f"server answered a bad-magic HELLO with {FRAME_NAMES.get(frame_type, hex(frame_type))}, not GOAWAY"
                    )
                if stream_id != 0:
                    raise ClientError(f"GOAWAY on stream {stream_id}, not 0")
                go_away = parse(schema.GoAway, payload, "GOAWAY")
        except TimeoutError:
            if go_away is None:
                raise ClientError(f"no GOAWAY within {args.timeout}s of a bad-magic HELLO") from None
            raise ClientError(f"server sent GOAWAY but did not close the connection within {args.timeout}s") from None
        if go_away is None:
            raise ClientError("server closed the connection without a GOAWAY")
        code = schema.go_away_code_name(go_away.code)
        print(f"goaway={code} last_stream_id={go_away.last_stream_id} reason={go_away.reason}")
        print("closed=yes")
        if code != "PROTOCOL_ERROR":
            raise ClientError(f"GOAWAY code is {code}, expected PROTOCOL_ERROR")
        return 0
    finally:
        connection.close()


# --------------------------------------------------------------------------------------------
# Command line


def resolve_home(args: argparse.Namespace) -> None:
    """Fills host, port and TLS files from a Keylake home (keylake dev up --dir DIR) where not given."""
    if args.home is None:
        return
    home = os.path.abspath(args.home)
    config_path = os.path.join(home, f"{args.target}.json")
    identities_path = os.path.join(home, "pki", "identities.json")
    try:
        with open(config_path, encoding="utf-8") as handle:
            config = json.load(handle)
        with open(identities_path, encoding="utf-8") as handle:
            identities = json.load(handle)
    except (OSError, ValueError) as error:
        raise ClientError(f"{home} is not a usable Keylake home: {error}") from error
    args.host = args.host or config.get("listen", {}).get("host", "127.0.0.1")
    if args.port is None:
        args.port = config.get("listen", {}).get("port")
    identity = next((entry for entry in identities if entry.get("name") == args.identity), None)
    if identity is None:
        known = ", ".join(entry.get("name", "?") for entry in identities)
        raise ClientError(f"no identity named {args.identity!r} in {identities_path}; known: {known}")
    args.cert = args.cert or os.path.join(home, "pki", identity["certificate"])
    args.key = args.key or os.path.join(home, "pki", identity["privateKey"])
    args.ca = args.ca or os.path.join(home, "pki", "ca.pem")


def main(argv: list[str]) -> int:
    default_proto_root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto"))
    parser = argparse.ArgumentParser(description="Independent Python client for the Keylake wire protocol.")
    parser.add_argument("--home", help="Keylake home (from `keylake dev up --dir DIR`): address and TLS files")
    parser.add_argument("--as", dest="identity", default="app", help="identity of the home to use (default: app)")
    parser.add_argument("--target", choices=["kmsd", "fhird"], default="kmsd", help="daemon of the home (default: kmsd)")
    parser.add_argument("--host", help="daemon host (default: from --home, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="daemon port (default: from --home)")
    parser.add_argument("--cert", help="client certificate PEM")
    parser.add_argument("--key", help="client private key PEM")
    parser.add_argument("--ca", help="CA bundle PEM the server's certificate must chain to")
    parser.add_argument("--server-name", default="localhost", help="name to verify the server certificate against")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for the whole exchange (default: 10)")
    parser.add_argument("--expect-principal", help="fail unless WhoAmI reports exactly this principal")
    parser.add_argument("--proto-root", default=default_proto_root, help="directory holding the .proto files")
    parser.add_argument(
        "--schema", choices=["auto", "protoc", "builtin"], default="auto",
        help="where message definitions come from: protoc on proto/, the built-in copy, or protoc when installed (default)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--bad-magic", action="store_true", help="send a HELLO with wrong magic; expect GOAWAY PROTOCOL_ERROR")
    mode.add_argument("--check-schema", action="store_true", help="compare the built-in schema copy with proto/ and exit")
    args = parser.parse_args(argv)

    try:
        if args.check_schema:
            check_schema(args.proto_root)
            return 0
        resolve_home(args)
        args.host = args.host or "127.0.0.1"
        missing = [name for name in ("port", "cert", "key", "ca") if getattr(args, name) is None]
        if missing:
            parser.error("missing " + ", ".join("--" + name for name in missing) + " (or pass --home)")
        schema = load_schema(args.schema, args.proto_root)
        print(f"schema={schema.source}", file=sys.stderr)
        return run_bad_magic(args, schema) if args.bad_magic else run_calls(args, schema)
    except ClientError as error:
        print(f"health_client: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
