"""The OpenAPI description of wagate's HTTP surface, served at `/openapi.json` and `/docs`."""

from __future__ import annotations

from typing import Any

_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _op(summary: str, *, tag: str, body: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "security": _BEARER,
        "responses": {"200": {"description": "OK"}},
    }
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    return op


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "wagate",
        "version": "0.1.0",
        "description": (
            "Meta's WhatsApp Cloud API surface (same paths, bodies, errors), wagate's own management API "
            "under /api/v1, and the simulator's control API. "
            "Authenticate with 'Authorization: Bearer <token>' (get one with 'wagate bootstrap --json')."
        ),
    },
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/{version}/{phone_number_id}/messages": {
            "post": _op(
                "Send a message, mark a message read, or show a typing indicator (Cloud API). "
                "Optional Idempotency-Key header.",
                tag="Cloud API",
                body=True,
            )
        },
        "/{version}/{phone_number_id}/media": {
            "post": {
                **_op(
                    "Upload media (Cloud API): multipart/form-data with messaging_product=whatsapp, file, "
                    'and optionally type (the MIME type); answers {"id": <media id>}',
                    tag="Cloud API",
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["messaging_product", "file"],
                                "properties": {
                                    "messaging_product": {"type": "string", "enum": ["whatsapp"]},
                                    "file": {"type": "string", "format": "binary"},
                                    "type": {"type": "string"},
                                },
                            }
                        }
                    },
                },
            }
        },
        "/{version}/{object_id}": {
            "get": _op(
                "Read a phone number, business account, template or media (for media: a download URL "
                "valid five minutes, mime_type, sha256, file_size; optional phone_number_id)",
                tag="Cloud API",
            ),
            "delete": _op("Delete media (optional phone_number_id)", tag="Cloud API"),
            "post": _op(
                "Edit a template: category, components and/or message_send_ttl_seconds; answers "
                '{"success": true}',
                tag="Templates",
                body=True,
            ),
        },
        "/{version}/{waba_id}/message_templates": {
            "get": _op(
                "List a business account's templates (filters: name, status, category, language, fields, "
                "limit; cursor paging with after/before)",
                tag="Templates",
            ),
            "post": _op(
                'Create a template (Meta\'s create payload); answers {"id", "status": "PENDING", "category"}',
                tag="Templates",
                body=True,
            ),
            "delete": _op(
                "Delete templates by name (every language), or one with hsm_id and name", tag="Templates"
            ),
        },
        "/v1/media/download/{media_id}": {
            "get": _op(
                "Download media through a URL from GET /{version}/{media_id} (bearer token of the same "
                "organization; the URL expires after five minutes)",
                tag="Cloud API",
            )
        },
        "/api/v1/messages/{message_id}": {
            "get": _op("A message, its status, its status history and any error", tag="Messages")
        },
        "/api/v1/contacts": {
            "get": _op(
                "Contacts, newest first: q searches name, wa_id and attribute values (case-insensitive in "
                "every script), tag filters by tag; limit, offset",
                tag="Contacts",
            ),
            "post": _op(
                "Create a contact: phone, name, attributes (flat object of strings, numbers, booleans), "
                "tags; 409 contact_exists for a wa_id the organization has",
                tag="Contacts",
                body=True,
            ),
        },
        "/api/v1/contacts/{contact_id}": {
            "get": _op("A contact", tag="Contacts"),
            "patch": _op(
                "Change a contact: name, attributes (merged; null removes a key), tags (replaced) or "
                "add_tags/remove_tags",
                tag="Contacts",
                body=True,
            ),
            "delete": _op(
                "Erase a contact with its messages, statuses, service windows, conversations and media; "
                "its consent history (user preferences) is kept and the erasure recorded",
                tag="Contacts",
            ),
        },
        "/api/v1/webhooks/subscriptions": {
            "get": _op("Webhook subscriptions of the organization", tag="Webhooks"),
            "post": _op(
                "Create a webhook subscription (url, format meta|wagate, phone_number_ids, event_types, "
                "max_concurrency, secret, verify_token); the secret is shown only in this answer",
                tag="Webhooks",
                body=True,
            ),
        },
        "/api/v1/webhooks/subscriptions/{subscription_id}": {
            "get": _op("A webhook subscription", tag="Webhooks"),
            "patch": _op("Change a webhook subscription", tag="Webhooks", body=True),
            "delete": _op("Remove a webhook subscription and its deliveries", tag="Webhooks"),
        },
        "/api/v1/webhooks/subscriptions/{subscription_id}/replay": {
            "post": _op(
                'Send deliveries again: {"state": "dead"} (the default) or {"since": <unix time>}',
                tag="Webhooks",
                body=True,
            )
        },
        "/api/v1/webhooks/deliveries": {
            "get": _op(
                "Webhook deliveries, newest first (state, subscription_id, limit, cursor)", tag="Webhooks"
            )
        },
        "/api/v1/webhooks/deliveries/{delivery_id}/replay": {
            "post": _op("Send one webhook delivery again", tag="Webhooks")
        },
        "/api/v1/simulator/messages": {
            "post": _op(
                "Simulator: a customer writes, sends media (image, video, audio, document, sticker: "
                "caption, filename, data_base64, mime_type), replies, presses a button or reacts",
                tag="Simulator",
                body=True,
            )
        },
        "/api/v1/simulator/preferences": {
            "post": _op(
                "Simulator: a customer stops or resumes marketing messages (phone_number_id, wa_id, "
                "value: stop|resume); wagate hears a user_preferences webhook",
                tag="Simulator",
                body=True,
            )
        },
        "/api/v1/simulator/faults": {
            "get": _op("Simulator: injected fault probabilities", tag="Simulator"),
            "put": _op("Simulator: set injected fault probabilities", tag="Simulator", body=True),
        },
        "/api/v1/simulator/stats": {
            "get": _op("Simulator: what the network has seen, and what it refused by rule", tag="Simulator")
        },
        "/healthz": {
            "get": {"summary": "Health", "tags": ["Operations"], "responses": {"200": {"description": "OK"}}}
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "tags": ["Operations"],
                "responses": {"200": {"description": "OK"}},
            }
        },
    },
}
