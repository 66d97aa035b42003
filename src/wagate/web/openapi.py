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
                "Edit a template: category, components and/or message_send_ttl_seconds; for a phone "
                "number: set the two-step pin or ask for a new_display_name; answers "
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
        "/{version}/{phone_number_id}/request_code": {
            "post": _op(
                "Ask Meta to send the number a verification code: code_method SMS or VOICE, language",
                tag="Phone numbers",
                body=True,
            )
        },
        "/{version}/{phone_number_id}/verify_code": {
            "post": _op("Give Meta the 6-digit code the number received", tag="Phone numbers", body=True)
        },
        "/{version}/{phone_number_id}/register": {
            "post": _op(
                "Register the verified number: messaging_product whatsapp, the 6-digit two-step pin, "
                "optionally data_localization_region",
                tag="Phone numbers",
                body=True,
            )
        },
        "/{version}/{phone_number_id}/deregister": {
            "post": _op(
                "Deregister the number: its sends are refused (133010) until registered", tag="Phone numbers"
            )
        },
        "/{version}/{phone_number_id}/whatsapp_business_profile": {
            "get": _op("The business profile Meta keeps (optional fields)", tag="Phone numbers"),
            "post": _op(
                "Change the business profile: about, address, description, email, websites, vertical, "
                "profile_picture_handle (messaging_product whatsapp)",
                tag="Phone numbers",
                body=True,
            ),
        },
        "/v1/media/download/{media_id}": {
            "get": _op(
                "Download media through a URL from GET /{version}/{media_id} (bearer token of the same "
                "organization; the URL expires after five minutes)",
                tag="Cloud API",
            )
        },
        "/api/v1/going-live": {
            "get": _op(
                "What the organization still lacks to go live: webhook settings, the app subscribed to each "
                "account at Meta, Meta accepting the token, each number registered, an approved template; "
                "each check with what to do, and ready when all passed",
                tag="Organization",
            )
        },
        "/api/v1/messages": {
            "get": _op(
                "Search messages by their words (q: every word must match a word or the start of one, "
                "case-insensitive; the text is sealed and searched through a blind index); "
                "phone_number_id, wa_id, limit, before (the last created_at, for the next page)",
                tag="Messages",
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
        "/api/v1/retention": {
            "get": _op(
                "How long the organization keeps messages and media (days; null: messages forever, media "
                "the deployment's default), and the effective periods",
                tag="Retention",
            ),
            "patch": _op(
                "Change message_retention_days and/or media_retention_days (1 to 3650, or null for the "
                "default); consent records are never deleted by retention",
                tag="Retention",
                body=True,
            ),
        },
        "/api/v1/retention/runs": {
            "get": _op(
                "What each run of the retention worker deleted (counts), newest first", tag="Retention"
            )
        },
        "/api/v1/erasures": {
            "get": _op(
                "Contacts erased on request: wa_id, when, counts of what went; newest first", tag="Retention"
            )
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
        "/api/v1/simulator/numbers/{phone_number_id}/verification-code": {
            "get": _op("The code the simulator sent a simulator number after request_code", tag="Simulator")
        },
        "/api/v1/simulator/stats": {
            "get": _op("Simulator: what the network has seen, and what it refused by rule", tag="Simulator")
        },
        "/api/v1/organization": {
            "get": _op("The token's organization: name, slug, messaging tier, what it holds", tag="Setup"),
            "patch": _op("Rename the organization: name (manage)", tag="Setup", body=True),
        },
        "/api/v1/business-accounts": {
            "get": _op("The organization's business accounts; secrets only as set or not", tag="Setup"),
            "post": _op(
                "Add a business account: name; for one at Meta meta_waba_id (kept as its id) and "
                "access_token; app_secret, meta_app_id. Secrets are never returned (manage)",
                tag="Setup",
                body=True,
            ),
        },
        "/api/v1/business-accounts/{id}": {
            "get": _op("One business account", tag="Setup"),
            "patch": _op(
                "Change name, access_token, app_secret (null clears), meta_app_id (manage)",
                tag="Setup",
                body=True,
            ),
            "delete": _op(
                "Remove an account without numbers or templates; 409 otherwise (manage)", tag="Setup"
            ),
        },
        "/api/v1/business-accounts/{id}/subscribe": {
            "post": _op(
                "Subscribe the Meta app to the account's webhooks (Meta's POST subscribed_apps) (manage)",
                tag="Setup",
            ),
            "delete": _op("Unsubscribe it (Meta's DELETE subscribed_apps) (manage)", tag="Setup"),
        },
        "/api/v1/numbers": {
            "get": _op("The organization's business numbers, with how they stand at Meta", tag="Setup"),
            "post": _op(
                "Add a number: waba_id, display_phone_number (+country code), meta_phone_number_id (a number "
                "of an account at Meta), upstream (cloud or simulator), rate (1-1000, default 80), "
                "verified_name (manage)",
                tag="Setup",
                body=True,
            ),
        },
        "/api/v1/numbers/{id}": {
            "get": _op("One business number", tag="Setup"),
            "patch": _op(
                "Change rate, upstream or verified_name; running senders follow (manage)",
                tag="Setup",
                body=True,
            ),
        },
        "/api/v1/numbers/{id}/refresh": {
            "post": _op(
                "Read the number from Meta (or the simulator): messaging tier, quality rating, name and "
                "verification status, platform type (manage)",
                tag="Setup",
            )
        },
        "/api/v1/tokens": {
            "get": _op(
                "The organization's API tokens: scopes, state, expiry; never the token (manage)", tag="Access"
            ),
            "post": _op(
                "Issue a token: name, scopes (send, read, manage; none: all), expires_in (seconds or 30d); "
                "the token is in the answer, once; only scopes the caller has (manage)",
                tag="Access",
                body=True,
            ),
        },
        "/api/v1/tokens/{token_id}": {
            "delete": _op("Revoke one of the organization's tokens (manage)", tag="Access")
        },
        "/api/v1/audit": {
            "get": _op(
                "The audit log, newest first (order=oldest): since, until (Unix seconds), action, limit, "
                "after (next_after of the previous page) (manage)",
                tag="Access",
            )
        },
        "/api/v1/audit/export": {
            "get": _op(
                "Every audit row, oldest first: format jsonl or csv; since, until, action (manage)",
                tag="Access",
            )
        },
        "/api/v1/operators": {
            "get": _op("The organization's operators (manage)", tag="Access"),
            "post": _op("Create an operator: email, password (manage)", tag="Access", body=True),
        },
        "/api/v1/operators/{operator_id}/totp": {
            "post": _op(
                "Begin two-factor enrolment: a new TOTP secret and its otpauth:// URI (manage)", tag="Access"
            )
        },
        "/api/v1/operators/{operator_id}/totp/confirm": {
            "post": _op(
                "Turn two-factor login on with a current code: {code} (manage)", tag="Access", body=True
            )
        },
        "/api/v1/login": {
            "post": {
                "summary": "An operator's session token (read, send; 12 hours): org, email, password, code",
                "tags": ["Access"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "responses": {"201": {"description": "Created"}, "401": {"description": "Refused"}},
            }
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
