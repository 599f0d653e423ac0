"""Resolve stored contacts and leads to accounts (CRM links win; the matcher fills the rest).

INTERFACE (agreed between layers; the implementation fills in the body).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine


@dataclass
class ResolveReport:
    resolved: int = 0  # links written or confirmed by the matcher
    crm_links: int = 0  # links kept from the CRM export
    unresolved: int = 0
    disagreements: int = 0  # CRM link != matcher answer: sent to review
    by_rule: dict[str, int] = field(default_factory=dict)


def resolve_all(engine: Engine) -> ResolveReport:
    """Link every contact and lead that has no current link; idempotent."""
    return ResolveReport()
