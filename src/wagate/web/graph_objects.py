"""The answers of the Cloud API (Graph) paths, as structs: what a send answers, and the Graph objects
`GET /{version}/{object_id}` reads (a phone number, a business account, a template, media).

A read with `fields=` answers only those fields (and `id`), so an object's fields are optional here. The
structs that describe what Meta (or the simulator, playing Meta) answers leave room for fields Meta adds.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType


class Success(msgspec.Struct, forbid_unknown_fields=True):
    success: bool


class SentContact(msgspec.Struct, forbid_unknown_fields=True):
    input: str  # the `to` of the send, as given
    wa_id: str


class SentMessage(msgspec.Struct, forbid_unknown_fields=True):
    id: str  # the wamid
    message_status: Literal["accepted"] | UnsetType = UNSET  # templates only


class SendAnswer(msgspec.Struct, forbid_unknown_fields=True):
    """Meta's answer to an accepted send (a repeated Idempotency-Key answers the first one's)."""

    messaging_product: Literal["whatsapp"]
    contacts: list[SentContact]
    messages: list[SentMessage]


class Throughput(msgspec.Struct):
    level: str


class PhoneNumberObject(msgspec.Struct):
    """A business number as Meta describes it (for a simulator number: from what wagate recorded)."""

    id: str
    verified_name: str | UnsetType = UNSET
    display_phone_number: str | UnsetType = UNSET
    quality_rating: str | UnsetType = UNSET
    code_verification_status: str | UnsetType | None = UNSET
    name_status: str | UnsetType = UNSET
    new_name_status: str | UnsetType | None = UNSET
    new_display_name: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    platform_type: str | UnsetType = UNSET
    throughput: Throughput | UnsetType = UNSET
    messaging_limit_tier: str | UnsetType | None = UNSET
    whatsapp_business_manager_messaging_limit: str | UnsetType | None = UNSET


class BusinessAccountObject(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str | UnsetType = UNSET
    timezone_id: str | UnsetType = UNSET
    message_template_namespace: str | UnsetType = UNSET


class QualityScore(msgspec.Struct, forbid_unknown_fields=True):
    score: str
    date: int


class TemplateObject(msgspec.Struct, forbid_unknown_fields=True):
    """A template as Meta's Graph API shows it."""

    id: str
    name: str | UnsetType = UNSET
    language: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    category: str | UnsetType = UNSET
    parameter_format: Literal["POSITIONAL", "NAMED"] | UnsetType = UNSET
    components: list[dict[str, Any]] | UnsetType = UNSET
    message_send_ttl_seconds: int | UnsetType | None = UNSET
    quality_score: QualityScore | UnsetType = UNSET
    rejected_reason: str | UnsetType = UNSET


class MediaInfo(msgspec.Struct, forbid_unknown_fields=True):
    """`GET /{version}/{media_id}`: a download URL valid five minutes, and the file's facts."""

    id: str
    messaging_product: Literal["whatsapp"] | UnsetType = UNSET
    url: str | UnsetType = UNSET
    mime_type: str | UnsetType = UNSET
    sha256: str | UnsetType = UNSET
    file_size: str | UnsetType = UNSET  # a string, as in Meta's answers


class UploadedMedia(msgspec.Struct, forbid_unknown_fields=True):
    id: str


class Cursors(msgspec.Struct, forbid_unknown_fields=True):
    before: str | UnsetType = UNSET
    after: str | UnsetType = UNSET


class GraphPaging(msgspec.Struct, forbid_unknown_fields=True):
    cursors: Cursors
    next: str | UnsetType = UNSET


class TemplatePage(msgspec.Struct, forbid_unknown_fields=True):
    data: list[TemplateObject]
    paging: GraphPaging


class CreatedTemplate(msgspec.Struct):
    """Meta's answer to a new template (a template at Meta answers what Meta said)."""

    id: str
    status: str
    category: str


class BusinessProfile(msgspec.Struct):
    about: str | UnsetType = UNSET
    address: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    profile_picture_url: str | UnsetType = UNSET
    websites: list[str] | UnsetType = UNSET
    vertical: str | UnsetType = UNSET
    messaging_product: str | UnsetType = UNSET


class BusinessProfiles(msgspec.Struct):
    data: list[BusinessProfile]
