"""The HTTP side of a device: push and pull against a backstory server, with the standard library only."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any


class RemoteError(Exception):
    """The server could not be reached, or answered with an error that stops the sync."""

    def __init__(self, message: str, status: int | None = None, body: dict | None = None):
        self.status = status
        self.body = body or {}
        super().__init__(message)


class HttpRemote:
    """One server, one device token.

    ``seq_shift``: how far this home's outbox numbering runs ahead of the device's seqs on the server.
    A home paired again with a new token (its old device revoked) keeps numbering its outbox where it
    was, while the server expects the new device's first seq to be 1: pushes send ``seq - seq_shift``
    and the answers' seqs are shifted back, so the outbox never sees the difference.
    """

    def __init__(self, url: str, token: str, timeout: float = 60.0, seq_shift: int = 0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.seq_shift = seq_shift

    def request(self, method: str, path: str, body: Any = None, query: dict | None = None) -> tuple[int, Any]:
        import urllib.error  # here, not at import: urllib.request (http.client, email, ssl) is a third of
        import urllib.request  # a read command's start-up, and only sync and device commands need it

        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
            "Accept": "application/json, application/problem+json",
        })
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                payload = json.loads(raw) if raw else {}
            except ValueError:
                payload = {"detail": raw[:200].decode("utf-8", "replace")}
            return e.code, payload
        except (urllib.error.URLError, OSError) as e:
            raise RemoteError(f"cannot reach {self.url}: {getattr(e, 'reason', e)}") from None
        except ValueError as e:  # a URL urllib cannot use (http.client.InvalidURL and the like)
            raise RemoteError(f"cannot use the URL {self.url}: {e}") from None

    def expect(self, status: int, payload: Any, *ok: int) -> Any:
        if status not in ok:
            detail = (payload or {}).get("detail") or (payload or {}).get("title") or "error"
            raise RemoteError(f"server answered {status}: {detail}", status, payload)
        return payload

    def push(self, mutations: list[dict]) -> tuple[int, dict]:
        shift = self.seq_shift
        if not shift:
            return self.request("POST", "/v1/sync/push", {"mutations": mutations})
        status, body = self.request("POST", "/v1/sync/push", {"mutations": [{**m, "seq": m["seq"] - shift}
                                                                            for m in mutations]})
        if isinstance(body, dict):
            for key in ("expected_seq", "last_seq"):
                if isinstance(body.get(key), int):
                    body[key] += shift
            for result in body.get("results") or []:
                if isinstance(result, dict) and isinstance(result.get("seq"), int):
                    result["seq"] += shift
        return status, body

    def pull(self, after: str | None, limit: int = 1000) -> dict:
        query = {"limit": limit, **({"after": after} if after else {})}
        return self.expect(*self.request("GET", "/v1/sync/pull", query=query), 200)

    def pair(self, name: str) -> dict:
        return self.expect(*self.request("POST", "/v1/devices", {"name": name}), 200, 201)

    def devices(self) -> dict:
        """Every device of the account, following the server's pages (``next_cursor``, ``has_more``)."""
        rows: list[dict] = []
        after = ""
        while True:
            page = self.expect(*self.request("GET", "/v1/devices", query={"after": after} if after else None), 200)
            rows += page.get("devices", [])
            if not page.get("has_more") or not page.get("next_cursor"):
                return {"devices": rows}
            after = page["next_cursor"]

    def revoke(self, device_id: str, confirm: str | None = None) -> Any:
        """Revoke a device; a revocation the server wants confirmed is a RemoteError with status 409 and ``confirm``."""
        query = {"confirm": confirm} if confirm else None
        return self.expect(*self.request("DELETE", f"/v1/devices/{urllib.parse.quote(device_id)}", query=query),
                           200, 204)
