"""Helpers of the API tests (no tests here): an app on a store, a device's client with its own seq counter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

PROBLEM = "application/problem+json"


def projections_factory():
    from projections import Projections

    return Projections


def fresh_app(store_url: str, **config: Any):
    from api.app import create_app

    return create_app({"DATABASE_URL": store_url, "TESTING": True, "RATE_LIMIT": 0, **config})


def mutation(seq: int, mutation_type: str, days_ago: float = 0.0, base_version: int | None = None,
             **args: Any) -> dict:
    return {"mutation_id": str(uuid.uuid4()), "seq": seq, "type": mutation_type,
            "occurred_at": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
            "base_version": base_version, "args": args}


class Client:
    """One device talking to a Flask app through its test client."""

    def __init__(self, flask_app, token: str, device_id: str, account_id: str | None = None):
        self.app = flask_app
        self.client = flask_app.test_client()
        self.token = token
        self.device_id = device_id
        self.account_id = account_id
        self.seq = 0

    @classmethod
    def new_account(cls, flask_app, name: str) -> Client:
        from service.accounts import create_account

        made = create_account(flask_app.extensions["backstory"].app, name)
        return cls(flask_app, made["token"], made["device_id"], made["account_id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def m(self, mutation_type: str, days_ago: float = 0.0, base_version: int | None = None, **args: Any) -> dict:
        self.seq += 1
        return mutation(self.seq, mutation_type, days_ago, base_version, **args)

    def push(self, *mutations: dict):
        return self.post("/v1/sync/push", {"mutations": list(mutations)})

    def post(self, path: str, body: Any):
        return self.client.post(path, json=body, headers=self.headers)

    def get(self, path: str, **query: Any):
        return self.client.get(path, query_string=query or None, headers=self.headers)

    def pair(self, name: str) -> Client:
        r = self.post("/v1/devices", {"name": name})
        assert r.status_code == 201, r.get_data(as_text=True)
        return Client(self.app, r.json["token"], r.json["device_id"], self.account_id)
