"""Importing consents collected elsewhere (a web form, a checkout, paper): CSV or JSON, all or nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import msgspec

from wagate.domain.access import Actor
from wagate.domain.phone import to_wa_id
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, GraphError
from wagate.services.consent import consent_problems
from wagate.services.runtime import Runtime
from wagate.store.audit import Entry, WithAudit
from wagate.store.consent import ImportConsents, NewConsent
from wagate.store.tenancy import numbers_of

MAX_ROWS = 100_000
MAX_LISTED = 100  # invalid rows described in the error; the count covers them all
REQUIRED = ("phone", "purpose", "action")
COLUMNS = (*REQUIRED, "source", "proof", "at")


class _JsonImport(msgspec.Struct, forbid_unknown_fields=True):
    records: list[dict[str, Any]]


async def do_import_consents(
    rt: Runtime, org: Organization, content_type: str, body: bytes, by: Actor
) -> dict[str, int]:
    """`POST /api/v1/consents/import`: every row valid and written, or nothing written."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        rows, default_source = _csv_rows(body), "csv"
    elif kind == "application/json":
        rows, default_source = _json_rows(body), "api"
    else:
        raise ApiError(
            "unsupported_media_type", "send text/csv or application/json", http_status=415, content_type=kind
        )
    numbers = await rt.db.read(lambda conn: numbers_of(conn, org.id))
    region = numbers[0].region if numbers else "ZZ"
    now = rt.clock.now()
    new: list[NewConsent] = []
    invalid: list[dict[str, Any]] = []
    for index, row in enumerate(rows, start=1):
        checked = _check_row(org.id, row, region, default_source, now)
        if isinstance(checked, NewConsent):
            new.append(checked)
        else:
            invalid.append({"row": index, "problems": checked})
    if invalid:
        raise ApiError(
            "invalid_request",
            f"{len(invalid)} of {len(rows)} rows are invalid: nothing was imported",
            invalid_rows=len(invalid),
            problems=invalid[:MAX_LISTED],
        )
    if not new:
        return {"imported": 0, "contacts_created": 0}
    imported, created = await rt.db.write(
        WithAudit(
            ImportConsents(org.id, new, now),
            org.id,
            by,
            now,
            lambda counts: Entry(
                "consent.import", None, None, {"imported": counts[0], "contacts_created": counts[1]}
            ),
        )
    )
    return {"imported": imported, "contacts_created": created}


def _too_many() -> ApiError:
    return ApiError("invalid_request", f"at most {MAX_ROWS} rows per import", max_rows=MAX_ROWS)


def _csv_rows(body: bytes) -> list[dict[str, Any]]:
    """Rows by column name; row 1 is the first after the header."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError("invalid_request", "the CSV file must be UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    unknown = [name for name in header if name not in COLUMNS]
    absent = [name for name in REQUIRED if name not in header]
    if unknown or absent or len(set(header)) != len(header):
        raise ApiError(
            "invalid_request",
            f"the header row names the columns {', '.join(COLUMNS)} (source, proof and at are optional)",
            unknown_columns=unknown,
            missing_columns=absent,
        )
    rows: list[dict[str, Any]] = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue  # blank lines, a trailing newline
        if len(rows) == MAX_ROWS:
            raise _too_many()
        if len(values) != len(header):
            rows.append({"_problem": f"{len(values)} fields where the header names {len(header)}"})
            continue
        rows.append({name: value for name, value in zip(header, values, strict=True) if value != ""})
    return rows


def _json_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        given = msgspec.json.decode(body, type=_JsonImport)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    if len(given.records) > MAX_ROWS:
        raise _too_many()
    return given.records


def _check_row(
    org_id: int, row: dict[str, Any], region: str, default_source: str, now: float
) -> NewConsent | list[str]:
    if "_problem" in row:
        return [row["_problem"]]
    problems: list[str] = []
    fields: dict[str, str | None] = {}
    for name in ("phone", "purpose", "action", "source", "proof"):
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name} must be a string")
            value = None
        fields[name] = value
    unknown = sorted(set(row) - set(COLUMNS))
    if unknown:
        problems.append(f"unknown fields: {', '.join(unknown)}")
    wa_id = ""
    phone = fields["phone"]
    if not phone:
        problems.append("phone is required")
    else:
        try:
            wa_id = to_wa_id(phone, region)
        except GraphError:
            problems.append(f"phone {phone!r} is not a valid phone number")
    at = _time(row.get("at"), now)
    if isinstance(at, str):
        problems.append(at)
        at = now
    purpose, action = fields["purpose"] or "", fields["action"] or ""
    source = fields["source"] or default_source
    problems += consent_problems(purpose.strip(), action.strip(), source, fields["proof"], at, now)
    if problems:
        return problems
    return NewConsent(
        org_id, wa_id, purpose.strip(), action.strip(), source.strip(), fields["proof"], None, at
    )


def _time(value: Any, now: float) -> float | str:
    """Unix seconds from a number, a string of digits or an ISO 8601 time (UTC unless it says); a problem
    as a string otherwise."""
    if value is None or value == "":
        return now
    if isinstance(value, bool):
        return "at must be unix seconds or an ISO 8601 time"
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return f"at {value!r} is neither unix seconds nor an ISO 8601 time"
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return "at must be unix seconds or an ISO 8601 time"
