"""DuckDB expressions the batch engine shares between definitions: first-seen keys and
the property paths every definition reads (parsed once per event)."""

from __future__ import annotations

from accord.signals.filters import sql_prop_text
from accord.signals.measures import Compiled


def key_sql(key: str) -> str:
    """DuckDB text of a first_seen key (or `properties.PATH`)."""
    if key == "contact":
        return "contact_id"
    if key == "name":
        return "name"
    if key == "contact.seniority":
        return "c_seniority"
    if key == "contact.department":
        return "c_department"
    return sql_prop_text(key.removeprefix("properties."))


def property_paths(compiled: list[Compiled]) -> list[str]:
    """Every property path the definitions read, in first-use order."""
    paths: dict[str, None] = {}
    for c in compiled:
        w = c.spec.when
        f = w.event  # type: ignore[union-attr]
        if f.path_glob is not None:
            paths["path"] = None
        paths.update(dict.fromkeys(f.properties))
        if f.ratio is not None:
            paths.update(dict.fromkeys([f.ratio.numerator, f.ratio.denominator]))
        for extra in (c.value_path, c.distinct_path):
            if extra is not None:
                paths[extra] = None
        key = getattr(w, "key", "")
        if key.startswith("properties."):
            paths[key.removeprefix("properties.")] = None
    return list(paths)
