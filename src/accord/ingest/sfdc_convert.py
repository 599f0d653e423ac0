"""One Salesforce record (CSV row or sObject-tree entry) -> a keyed `Record`.

Keys, in order of preference: the record's `Id` (system `sfdc`, 18-character ids cut to
their case-sensitive 15-character form), its tree `referenceId` (system `sfdc_ref`, scoped
by the folder the file sits in, since reference ids are local to a data set), or the
object's natural key (system `sfdc_key`), e.g. `name=zoonoodle 37` for an Account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accord.ingest.fields import as_text, parse_all
from accord.ingest.records import Record, Ref
from accord.ingest.sfdc_objects import SfObject
from accord.ingest.values import BadValue

RawFields = dict[str, tuple[str, Any]]  # normalized name -> (name as given, value)

_OPP_TYPES = {
    "new business": "new_business",
    "new customer": "new_business",
    "existing business": "expansion",
    "existing customer - upgrade": "expansion",
    "upsell": "expansion",
    "expansion": "expansion",
    "renewal": "renewal",
    "existing customer - replacement": "renewal",
    "existing customer - downgrade": "renewal",
}


@dataclass
class Keyed:
    """A converted record and the external-id system its keys live in."""

    system: str
    record: Record


def sf_id(value: str) -> str:
    """An 18-character Salesforce id's case-sensitive 15-character form."""
    return value[:15] if len(value) == 18 and value.isalnum() else value


def link(obj: str, value: str, scope: str) -> Ref:
    """A link field's value: `@Ref` (tree reference) or a Salesforce id."""
    if value.startswith("@"):
        return Ref("sfdc_ref", obj, f"{scope}/{value[1:]}")
    return Ref("sfdc", obj, sf_id(value))


def convert(obj: SfObject, raw: RawFields, *, scope: str, reference: str | None = None) -> Keyed:
    """Parse, key and link one record; a bad value raises `BadValue` naming its field."""
    columns, attributes, links = parse_all(obj.fields, raw)
    _check_required(obj, raw, columns)
    given_id = None
    if "id" in raw:
        given_id = as_text(raw["id"][1])
        attributes.pop(raw["id"][0], None)
    values: dict[str, Any] = dict(columns)
    for column, value in links.items():
        target = next(s.ref for s in obj.fields.values() if s.column == column)
        values[column] = link(target or "", value, scope)
    _derive(obj, values, attributes)
    if given_id:
        return Keyed("sfdc", Record([sf_id(given_id)], values, attributes))
    if reference:
        return Keyed("sfdc_ref", Record([f"{scope}/{reference}"], values, attributes))
    return Keyed("sfdc_key", Record([natural_key(obj, raw, columns, links)], values, attributes))


def _check_required(obj: SfObject, raw: RawFields, columns: dict[str, Any]) -> None:
    for column in obj.required:
        if columns.get(column) is None:
            given = [
                g for k, (g, _) in raw.items() if k in obj.fields and obj.fields[k].column == column
            ]
            raise BadValue(given[0] if given else column, f"is empty; every {obj.name} needs one")


def natural_key(
    obj: SfObject, raw: RawFields, columns: dict[str, Any], links: dict[str, str]
) -> str:
    """`col=value|...` from the object's natural-key columns, lower-cased."""
    found: dict[str, Any] = {**columns, **links}
    for column in obj.natural_key:
        if found.get(column) is None and column in raw:
            found[column] = as_text(raw[column][1])
    if not obj.natural_key or not found.get(obj.natural_key[0]):
        names = ", ".join(obj.natural_key) or "none"
        raise BadValue(
            obj.natural_key[0] if obj.natural_key else "Id",
            f"is empty and the record has no Id or referenceId (natural key: {names})",
        )
    return "|".join(f"{c}={str(found[c]).strip().lower()}" for c in obj.natural_key if found.get(c))


def _derive(obj: SfObject, values: dict[str, Any], attributes: dict[str, Any]) -> None:
    """Fill columns Salesforce implies: won/closed from the stage, type and lifecycle."""
    kind = _type_text(attributes)
    if obj.object == "opportunity":
        stage = (values.get("stage") or "").lower()
        if "stage" in values and values["stage"] is None:
            values["stage"] = "unknown"
        if values.get("is_closed") is None and "stage" in values:
            values["is_closed"] = stage.startswith("closed")
        if values.get("is_won") is None and "stage" in values:
            values["is_won"] = stage.startswith("closed won") or stage == "won"
        if kind and kind.lower() in _OPP_TYPES:
            values["type"] = _OPP_TYPES[kind.lower()]
    elif obj.object == "account" and kind:
        lowered = kind.lower()
        if lowered.startswith("customer"):
            values["lifecycle_stage"] = "customer"
        elif lowered.startswith("prospect"):
            values["lifecycle_stage"] = "prospect"


def _type_text(attributes: dict[str, Any]) -> str | None:
    for key, value in attributes.items():
        if key.lower() == "type" and isinstance(value, str):
            return value.strip()
    return None
