"""The schemas of pairing, listing and revoking an account's devices."""

from __future__ import annotations

from marshmallow import fields, validate

from api import limits
from api.schemas import Iso, Strict, has_more_field, next_cursor_field


class PairRequestSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=limits.MAX_NAME_CHARS))


class PairedSchema(Strict):
    device_id = fields.String(required=True)
    name = fields.String()
    token = fields.String(required=True, metadata={"description": "Shown once; only its hash is kept"})


class DeviceSchema(Strict):
    device_id = fields.String(required=True)
    name = fields.String(required=True)
    paired_at = Iso(required=True)
    revoked_at = Iso(required=True)
    paired_by = fields.String(allow_none=True, metadata={
        "description": "The device that paired it, 'operator', or null (paired before this was recorded)"})
    revoked_by = fields.String(allow_none=True, metadata={
        "description": "The device that revoked it, 'operator', or null (not revoked, or before this was recorded)"})
    current = fields.Boolean(required=True, metadata={"description": "The device making this request"})


class DeviceListSchema(Strict):
    devices = fields.List(fields.Nested(DeviceSchema), required=True)
    next_cursor = next_cursor_field("devices")
    has_more = has_more_field("devices")


class RevokeQuerySchema(Strict):
    confirm = fields.UUID(metadata={
        "description": "The revoked device's id again: needed when it paired the device asking, or when no "
                       "working device but the one asking would be left (otherwise, or with another value, "
                       "409 confirmation-required)"})


class RevokedSchema(Strict):
    device_id = fields.String(required=True)
    revoked = fields.Boolean(required=True)
