"""Matching quality: precision, recall and calibration on the labelled set, plus public figures.

`python -m bench.matching_quality` evaluates on seed 2 with the shipped calibration table;
`python -m bench.matching_quality --fit` refits that table on seed 1 (a different seed, so
the evaluation stays honest) and writes `src/accord/data/match_calibration.json`.

A link made by a `*_parent` rule (shared domain inside one parent/child family, no name
to break the tie) counts as correct when the true account is in that family.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from accord.graph.calibration import CALIBRATION_FILE, Calibration, fit_tables, shipped
from accord.graph.candidates import NameIndex, similarity
from accord.graph.index import normalize_country
from accord.graph.match import Matcher, MatchResult
from accord.graph.names import normalize_name
from accord.graph.rules import FUZZY_ACCEPT
from bench import figure
from bench.labelled import REALWORLD, VARIANTS, LabelledSet, generate

FIT_SEED, EVAL_SEED = 1, 2
CALIBRATION_PATH = (
    Path(__file__).resolve().parents[1] / "src" / "accord" / "data" / CALIBRATION_FILE
)
DNB = REALWORLD / "entity_resolution" / "dnb-name_matching"
PATENTS = REALWORLD / "entity_resolution" / "dedupe-examples"


def is_correct(data: LabelledSet, lead_id: str, account_id: str, rule: str) -> bool:
    truth = data.truth[lead_id]
    if account_id == truth:
        return True
    if rule.endswith("_parent") and truth is not None:
        return data.family.get(truth, truth) == account_id
    return False


def fit(seed: int = FIT_SEED, path: Path = CALIBRATION_PATH) -> dict[str, Any]:
    """Refit the calibration table on `seed` and write it to `path`."""
    data = generate(seed)
    matcher = Matcher.build(data.accounts, Calibration.identity())
    samples = []
    for lead in data.leads:
        d = matcher.decide(lead)
        if d.account_id is not None:
            samples.append(
                (d.rule, d.context, d.raw, is_correct(data, lead.id, d.account_id, d.rule))
            )
    tables = fit_tables(samples)
    doc = {"fitted_on": f"bench.labelled seed {seed}", "samples": len(samples), "tables": tables}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return doc


def evaluate(data: LabelledSet, calibration: Calibration) -> dict[str, Any]:
    """Per-variant counts, overall precision/recall and the calibration table."""
    matcher = Matcher.build(data.accounts, calibration)
    results = matcher.match_many(data.leads)
    per: dict[str, Counter[str]] = defaultdict(Counter)
    links: list[tuple[float, bool]] = []
    mistakes: list[str] = []
    for lead, r in zip(data.leads, results, strict=True):
        c = per[data.variant[lead.id]]
        c["n"] += 1
        c["positive"] += data.truth[lead.id] is not None
        if r.account_id is None:
            continue
        ok = is_correct(data, lead.id, r.account_id, r.rule)
        c["linked"] += 1
        c["correct"] += ok
        links.append((r.confidence, ok))
        if not ok and len(mistakes) < 15:
            mistakes.append(_describe(lead, r, data))
    return {"per_variant": per, "links": links, "mistakes": mistakes, "results": results}


def _describe(lead: Any, r: MatchResult, data: LabelledSet) -> str:
    return (
        f"{data.variant[lead.id]}: email={lead.email} company={lead.company!r} "
        f"website={lead.website} → {r.account_id} ({r.rule} {r.confidence:.2f}), "
        f"truth {data.truth[lead.id]}"
    )


def calibration_table(links: list[tuple[float, bool]]) -> tuple[list[dict[str, Any]], float]:
    """Per confidence decile: n, mean confidence, accuracy; and the expected calibration error."""
    bins: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for conf, ok in links:
        bins[min(int(conf * 10), 9)].append((conf, ok))
    rows, ece = [], 0.0
    for b in sorted(bins):
        items = bins[b]
        mean_conf = sum(c for c, _ in items) / len(items)
        accuracy = sum(ok for _, ok in items) / len(items)
        ece += len(items) / max(len(links), 1) * abs(accuracy - mean_conf)
        decile = f"{b / 10:.1f}-{(b + 1) / 10:.1f}"
        rows.append(
            {"decile": decile, "n": len(items), "confidence": round(mean_conf, 4),
             "accuracy": round(accuracy, 4)}
        )  # fmt: skip
    return rows, ece


def dnb_accuracy() -> float:
    """accuracy@1: each adjusted DNB name matched back among the 500 originals (name + country)."""
    originals = _read_indexed(DNB / "test_names.csv")
    adjusted = _read_indexed(DNB / "adjusted_test_names.csv")
    index = NameIndex()
    countries = {}
    for row_id, (name, country) in originals.items():
        index.add(row_id, normalize_name(name))
        countries[row_id] = normalize_country(country)
    hits = 0
    for row_id, (name, country) in adjusted.items():
        ranked = index.top(normalize_name(name), limit=5, floor=0.0)
        same = normalize_country(country)
        ranked.sort(
            key=lambda s: (-s.score - 0.02 * (countries[s.account_id] == same), s.account_id)
        )
        hits += bool(ranked) and ranked[0].account_id == row_id
    return hits / len(adjusted)


def _read_indexed(path: Path) -> dict[str, tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row[""]: (row["company_name"], row["country"]) for row in csv.DictReader(handle)}


def patent_pairs() -> tuple[float, float]:
    """Pairwise precision and recall of name clusters on the dedupe-examples patent records."""
    with (PATENTS / "patent_example_patstat_reference.csv").open(encoding="utf-8") as handle:
        truth = {row["person_id"]: row["leuven_id"] for row in csv.DictReader(handle)}
    with (PATENTS / "patent_example_patstat_input.csv").open(encoding="utf-8") as handle:
        names = {row["person_id"]: row["Name"] for row in csv.DictReader(handle)}
    index, parent = NameIndex(), {pid: pid for pid in names}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pid, name in names.items():
        key = normalize_name(name)
        for other in index.candidates(key) if key.compact else []:
            if similarity(key, index.keys[other]) >= FUZZY_ACCEPT:
                parent[find(pid)] = find(other)
        index.add(pid, key)
    predicted = {pid: find(pid) for pid in names}
    return _pairwise(predicted, {pid: truth[pid] for pid in names})


def _pairwise(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float]:
    def pairs(counter: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    both = pairs(Counter((predicted[p], truth[p]) for p in predicted))
    pred_pairs, true_pairs = pairs(Counter(predicted.values())), pairs(Counter(truth.values()))
    return both / max(pred_pairs, 1), both / max(true_pairs, 1)


def run(calibration: Calibration | None = None, fitted_on: str = "") -> dict[str, Any]:
    """Evaluate on the evaluation seed; the dict follows the `bench` runner's shape."""
    fitted_on = fitted_on or _shipped_fit()
    data = generate(EVAL_SEED)
    report = evaluate(data, calibration or shipped())
    per, links = report["per_variant"], report["links"]
    total = sum(per.values(), Counter())
    precision = total["correct"] / max(total["linked"], 1)
    recall = total["correct"] / max(total["positive"], 1)
    rows, ece = calibration_table(links)
    correct = [c for c, ok in links if ok]
    high = sum(c >= 0.95 for c in correct) / max(len(correct), 1)
    dnb = dnb_accuracy()
    patent_p, patent_r = patent_pairs()
    figures = [
        figure("overall precision", precision, target=0.995),
        figure("overall recall", recall, target=0.97),
        figure("expected calibration error", ece, target=0.02, op="<="),
        figure("correct links with confidence >= 0.95", high, target=0.90),
        figure("reference: dnb name_matching accuracy@1", dnb),
        figure("reference: dedupe patent clusters pairwise precision", patent_p),
        figure("reference: dedupe patent clusters pairwise recall", patent_r),
    ]
    for variant in VARIANTS:
        c = per.get(variant, Counter())
        figures.append(figure(f"{variant}: n", c["n"], unit="leads"))
        precision_v = c["correct"] / c["linked"] if c["linked"] else None
        figures.append(figure(f"{variant}: precision", precision_v))
        if c["positive"]:
            figures.append(figure(f"{variant}: recall", c["correct"] / c["positive"]))
        else:
            figures.append(figure(f"{variant}: wrong links", c["linked"], unit="leads"))
    rules = Counter(r.rule for r in report["results"])
    notes = [
        f"calibration fitted on {fitted_on} (never on the evaluation seed); "
        f"evaluated on bench.labelled seed {EVAL_SEED}: {len(data.leads)} leads, "
        f"{len(data.accounts)} accounts",
        "reference figures (public data sets, no target): dnb accuracy@1 and patent pairs",
    ]
    notes += [f"rule {rule}: {n}" for rule, n in rules.most_common()]
    notes += ["calibration " + json.dumps(row) for row in rows]
    notes += ["wrong link: " + m for m in report["mistakes"]]
    return {"name": "matching_quality", "figures": figures, "notes": notes}


def _shipped_fit() -> str:
    """Which seed the shipped calibration table was fitted on (as the file says)."""
    if not CALIBRATION_PATH.is_file():
        return "nothing (no table shipped)"
    return str(json.loads(CALIBRATION_PATH.read_text(encoding="utf-8")).get("fitted_on"))


def _print(result: dict[str, Any]) -> None:
    for f in result["figures"]:
        value = f["value"]
        shown = (
            "n/a" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))
        )
        target = (
            f" (target {f['op']} {f['target']}: {'PASS' if f['passed'] else 'FAIL'})"
            if "target" in f
            else ""
        )
        print(f"{f['name']:<56} {shown}{target}")  # fmt: skip
    for note in result["notes"]:
        print(note)


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.matching_quality [--fit]`."""
    args = sys.argv[1:] if argv is None else argv
    if "--fit" in args:
        doc = fit()
        print(
            f"calibration fitted on seed {FIT_SEED} ({doc['samples']} links) → {CALIBRATION_PATH}"
        )
        shipped.cache_clear()
        _print(run(Calibration(doc["tables"]), doc["fitted_on"]))
        return
    _print(run())


if __name__ == "__main__":
    main()
