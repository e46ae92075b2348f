"""Serve the local time-stamping authority over HTTP (RFC 3161 §3.4), on loopback unless told otherwise."""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dr_portal.pdf.timestamping import QUERY_TYPE, REPLY_TYPE
from dr_portal.pdf.tsa import tsa_identity, tsa_respond

MAX_REQUEST = 16 * 1024  # a TimeStampReq is a few hundred bytes


class _Handler(BaseHTTPRequestHandler):
    server_version = "dr-portal-tsa"

    def _plain(self, status: int, text: str) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._plain(405, f"POST an RFC 3161 request as {QUERY_TYPE}")

    def do_POST(self) -> None:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != QUERY_TYPE:
            self._plain(415, f"the body must be {QUERY_TYPE}")
            return
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._plain(411, "Content-Length is required")
            return
        if not 0 < length <= MAX_REQUEST:
            self._plain(413, f"a request is 1 to {MAX_REQUEST} bytes")
            return
        reply = tsa_respond(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", REPLY_TYPE)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per token would drown the log; the tokens are in the reports


class Command(BaseCommand):
    help = "Answer RFC 3161 time-stamp requests with the local TSA's key (POST application/timestamp-query)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
        parser.add_argument("--port", type=int, default=3161, help="TCP port (default 3161)")

    def handle(self, *args: Any, **options: Any) -> None:
        identity = tsa_identity()  # made now, not on the first request
        try:
            server = ThreadingHTTPServer((options["host"], options["port"]), _Handler)
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc.strerror}") from exc
        host, port = str(server.server_address[0]), int(server.server_address[1])
        subject = identity.certificate.subject.rfc4514_string()
        self.stdout.write(f"time-stamping authority {subject} listening on http://{host}:{port}/", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
