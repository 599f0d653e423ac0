"""What readers produce and the store layer writes: records keyed by a source's ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table


@dataclass(frozen=True)
class Ref:
    """A link to another record by its source key, resolved through `external_ids`."""

    system: str
    object: str
    key: str


@dataclass
class Record:
    """One source record: its keys (first is primary, the rest are aliases) and its values.

    `values` holds only the columns the source provides (an empty cell is None and clears
    the column); a `Ref` value becomes the linked record's id. `attributes` holds the
    source's unmapped fields and is merged into what is stored.
    """

    keys: list[str]
    values: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """Where records of one source object go: id kind, table and external-id namespace."""

    kind: str  # id prefix kind: account, contact, lead, opportunity, campaign, case
    table: Table
    system: str  # sfdc, sfdc_ref, sfdc_key, hubspot, csv:<name>
    object: str  # account, contact, lead, opportunity, campaign, case
    source: str  # the stored rows' `source`: sfdc, hubspot, csv

    def ref(self, key: str) -> Ref:
        return Ref(self.system, self.object, key)
