"""A small MLflow REST client (stdlib only): the portal never needs the mlflow package itself.

Every request goes through the outbound guard (dr_portal/outbound.py) under the connector rule, as
every connector's connection does: the tracking URI is an admin's setting, a registry usually
lives on a private network, and a worker inside it is the one that connects (never link-local,
and inside CONNECTOR_ALLOWED_NETWORKS when that is set; each redirect is checked again).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import select
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

from dr_portal import outbound
from inventory.connectors.errors import (
    AuthFailed,
    CaptureIncomplete,
    ConfigInvalid,
    ConnectorError,
    ConnectorRefused,
    Unreachable,
)

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
# Kept-alive connections waiting for the next request; more than the connector's threads.
IDLE_CONNECTIONS = 16


class MlflowApiError(ConnectorError):
    code = "connector_mlflow_api"

    def __init__(self, message: str, *, error_code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.status = status


class MlflowRest:
    """One registry's REST API; safe to share between threads.

    Connections are kept alive and reused (a pool of idle ones, one per thread at most in
    use): a capture or restore makes several requests per model version, and opening a
    connection for each was a good part of their cost. Each is vetted and pinned when
    opened (``outbound.connector_connection``); a redirect is followed through
    ``outbound.opened``, which vets every hop.
    """

    def __init__(
        self, base_url: str, *, token: str = "", username: str = "", password: str = "", timeout: float = 30
    ) -> None:
        if not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:  # a socket refuses the rest
            raise ConfigInvalid(
                f"timeout: give a number of seconds above 0 and at most 3600 (not {str(timeout)[:24]})."
            )
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.headers: dict[str, str] = {"Accept": "*/*", "User-Agent": "dr-portal-connector"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif username:
            basic = base64.b64encode(f"{username}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {basic}"
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def __enter__(self) -> MlflowRest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the idle connections (those in use close when their request ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {**self.headers, **({"Content-Type": content_type} if body is not None else {})}
        with self._opened(url, method=method, body=body, headers=headers) as response:
            data: bytes = response.read()
        if response.status < 400:
            return data
        text = data.decode(errors="replace")
        if response.status in (401, 403):
            raise AuthFailed(f"MLflow at {self.base} refused the credentials (HTTP {response.status}).")
        try:
            payload = json.loads(text)
        except ValueError:
            payload = {"message": text[:200]}
        raise MlflowApiError(
            f"MLflow {method} {path} failed (HTTP {response.status}): {payload.get('message', '')}",
            error_code=str(payload.get("error_code", "")),
            status=response.status,
        )

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle kept-alive connection (``True``) or a new one (``False``)."""
        with self._lock:
            while self._idle:
                kept = self._idle.pop()
                if not _dropped(kept):
                    return kept, True
                kept.close()
        return outbound.connector_connection(self.base, timeout=self.timeout), False

    def _release(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def _send(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        parts = urllib.parse.urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        while True:
            connection, reused = self._connection()
            try:
                connection.request(method, target, body=body, headers=headers)
                return connection, connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                # A kept connection the server closed as it was reused: once more on a new one,
                # for requests that may be repeated (never a create or a delete).
                if not (reused and method in ("GET", "PUT")):
                    raise
            except BaseException:
                connection.close()
                raise

    @contextlib.contextmanager
    def _opened(
        self, url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Iterator[http.client.HTTPResponse]:
        sent = headers or self.headers
        try:
            connection, response = self._send(method, url, body, sent)
            location = response.getheader("Location")
            if method == "GET" and response.status in outbound.REDIRECTS and location:
                response.read()
                self._release(connection)
                with outbound.opened(
                    urllib.parse.urljoin(url, location),
                    timeout=self.timeout,
                    headers=sent,
                    accept="*/*",
                    connector=True,
                ) as (followed, _final, _hops):
                    yield followed
                return
            try:
                yield response
            finally:
                # Reusable only when the whole answer was read; otherwise its bytes are still in the way.
                if response.isclosed():
                    self._release(connection)
                else:
                    connection.close()
        except outbound.Malformed as bad:
            raise ConfigInvalid(f"MLflow at {self.base[:80]}: {bad}.") from None
        except outbound.TargetRefused as refused:
            raise ConnectorRefused(
                f"MLflow at {self.base} is refused: {refused}.", code="connector_target_refused"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(f"MLflow at {self.base} cannot be reached: {exc}.") from None

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self._request("GET", API + path, params=params) or b"{}")
        return result

    def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(
            self._request("POST", API + path, body=json.dumps(payload).encode()) or b"{}"
        )
        return result

    def delete(self, path: str, payload: dict[str, Any]) -> None:
        self._request("DELETE", API + path, body=json.dumps(payload).encode())

    def post_pages(self, path: str, key: str, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The items under ``key`` of every page of a search that is sent as a POST."""
        token = ""
        while True:
            page = self.post(path, {**payload, **({"page_token": token} if token else {})})
            yield from page.get(key, [])
            token = page.get("next_page_token", "")
            if not token:
                return

    def pages(self, path: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        token = ""
        while True:
            page = self.get(path, **params, **({"page_token": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("next_page_token", "")
            if not token:
                return

    # --- artifacts, through the tracking server's artifact proxy -----------------------
    def list_artifacts(self, root: str) -> list[tuple[str, int]]:
        """Every file under ``root`` (a proxy path) as ``(path relative to root, size)``."""
        out: list[tuple[str, int]] = []
        pending = [""]
        while pending:
            rel = pending.pop()
            path = f"{root}/{rel}".rstrip("/") if rel else root
            listing = json.loads(self._request("GET", ARTIFACTS, params={"path": path}) or b"{}")
            for item in listing.get("files", []):
                child = f"{rel}/{item['path']}".lstrip("/") if "/" not in item["path"] else item["path"]
                if item.get("is_dir"):
                    pending.append(child)
                else:
                    out.append((child, int(item.get("file_size", 0))))
        return sorted(out)

    def download(self, path: str) -> Iterator[bytes]:
        url = f"{self.base}{ARTIFACTS}/{urllib.parse.quote(path)}"
        with self._opened(url) as response:
            if response.status >= 400:
                raise CaptureIncomplete(f"The artifact {path} cannot be read from MLflow (HTTP {response.status}).")
            try:
                while chunk := response.read(1 << 20):
                    yield chunk
            except (OSError, http.client.HTTPException) as exc:
                raise Unreachable(f"MLflow at {self.base} cannot be reached: {exc}.") from None

    def delete_artifacts(self, path: str) -> None:
        """Remove a file or folder (with everything under it) from the server's artifact store."""
        self._request("DELETE", f"{ARTIFACTS}/{urllib.parse.quote(path)}")

    def upload(self, path: str, data: bytes) -> None:
        self._request(
            "PUT", f"{ARTIFACTS}/{urllib.parse.quote(path)}", body=data, content_type="application/octet-stream"
        )


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether the server closed a kept connection while it was idle (it reads as ready: EOF)."""
    sock = connection.sock
    if sock is None:
        return False  # closed on our side; the next request opens it again, to the same pinned address
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def proxy_path(uri: str) -> str:
    """``mlflow-artifacts:/1/abc/artifacts/model`` (or with a host) → ``1/abc/artifacts/model``."""
    if not uri.startswith("mlflow-artifacts:"):
        raise CaptureIncomplete(
            f"The artifact location {uri} is not served by the MLflow server (start it with --serve-artifacts)."
        )
    rest = uri[len("mlflow-artifacts:") :]
    if rest.startswith("//"):
        rest = rest[2:].split("/", 1)[1] if "/" in rest[2:] else ""
    return rest.strip("/")


def same_server(a: str, b: str) -> bool:
    """Two tracking URIs name one server: case, a trailing slash, the default port, localhost/127.0.0.1 aside."""

    def norm(uri: str) -> tuple[str, str, int | None, str]:
        parts = urllib.parse.urlsplit(uri.strip())
        host = (parts.hostname or "").lower()
        host = "127.0.0.1" if host in ("localhost", "::1", "ip6-localhost") else host
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:
            port = None
        return parts.scheme.lower(), host, port, parts.path.rstrip("/")

    return norm(a) == norm(b)
