"""A small MLflow REST client (stdlib only): the portal never needs the mlflow package itself."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from inventory.connectors.errors import AuthFailed, CaptureIncomplete, ConnectorError, Unreachable

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


class MlflowApiError(ConnectorError):
    code = "connector_mlflow_api"

    def __init__(self, message: str, *, error_code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.status = status


class MlflowRest:
    def __init__(
        self, base_url: str, *, token: str = "", username: str = "", password: str = "", timeout: float = 30
    ) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.headers: dict[str, str] = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif username:
            basic = base64.b64encode(f"{username}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {basic}"

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
        request = urllib.request.Request(url, data=body, method=method, headers=dict(self.headers))  # noqa: S310
        if body is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            if exc.code in (401, 403):
                raise AuthFailed(f"MLflow at {self.base} refused the credentials (HTTP {exc.code}).") from None
            try:
                payload = json.loads(text)
            except ValueError:
                payload = {"message": text[:200]}
            raise MlflowApiError(
                f"MLflow {method} {path} failed (HTTP {exc.code}): {payload.get('message', '')}",
                error_code=str(payload.get("error_code", "")),
                status=exc.code,
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"MLflow at {self.base} cannot be reached: {reason}.") from None

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
        request = urllib.request.Request(url, headers=dict(self.headers))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                while chunk := response.read(1 << 20):
                    yield chunk
        except urllib.error.HTTPError as exc:
            raise CaptureIncomplete(f"The artifact {path} cannot be read from MLflow (HTTP {exc.code}).") from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"MLflow at {self.base} cannot be reached: {exc}.") from None

    def upload(self, path: str, data: bytes) -> None:
        self._request(
            "PUT", f"{ARTIFACTS}/{urllib.parse.quote(path)}", body=data, content_type="application/octet-stream"
        )


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
