"""Job titles to seniority, department and buying role, on real-world titles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.graph.titles import (
    BUYING_ROLES,
    DEPARTMENTS,
    SENIORITIES,
    TitleProfile,
    classify_title,
    fold_title,
)

# (title, seniority, department, buying role)
TITLES: list[tuple[str, str, str, str]] = [
    # C-level and owners
    ("CEO", "c_level", "executive", "economic_buyer"),
    ("Chief Executive Officer", "c_level", "executive", "economic_buyer"),
    ("President & CEO", "c_level", "executive", "economic_buyer"),
    ("CFO", "c_level", "finance", "economic_buyer"),
    ("Chief Financial Officer", "c_level", "finance", "economic_buyer"),
    ("CTO", "c_level", "engineering", "decision_maker"),
    ("Chief Technology Officer", "c_level", "engineering", "decision_maker"),
    ("CIO", "c_level", "it", "decision_maker"),
    ("Chief Information Officer", "c_level", "it", "decision_maker"),
    ("CISO", "c_level", "it", "decision_maker"),
    ("Chief Information Security Officer", "c_level", "it", "decision_maker"),
    ("CRO", "c_level", "sales", "decision_maker"),
    ("Chief Revenue Officer", "c_level", "sales", "decision_maker"),
    ("CMO", "c_level", "marketing", "decision_maker"),
    ("COO", "c_level", "operations", "decision_maker"),
    ("Chief Operating Officer", "c_level", "operations", "decision_maker"),
    ("CPO", "c_level", "product", "decision_maker"),
    ("Chief Procurement Officer", "c_level", "procurement", "procurement"),
    ("Chief People Officer", "c_level", "hr", "decision_maker"),
    ("Founder", "c_level", "executive", "economic_buyer"),
    ("Co-founder", "c_level", "executive", "economic_buyer"),
    ("Co-Founder & CTO", "c_level", "engineering", "decision_maker"),
    ("Owner", "c_level", "executive", "economic_buyer"),
    ("President", "c_level", "executive", "economic_buyer"),
    ("Partner", "c_level", "executive", "economic_buyer"),
    ("Managing Partner", "c_level", "executive", "economic_buyer"),
    ("Principal", "c_level", "executive", "economic_buyer"),
    ("Managing Director", "c_level", "executive", "economic_buyer"),
    ("General Manager", "c_level", "executive", "economic_buyer"),
    # VPs
    ("VP Sales", "vp", "sales", "decision_maker"),
    ("VP, Sales & Marketing", "vp", "sales", "decision_maker"),
    ("SVP, Marketing", "vp", "marketing", "decision_maker"),
    ("EVP Finance", "vp", "finance", "economic_buyer"),
    ("AVP, Information Technology", "vp", "it", "decision_maker"),
    ("VP Accounting", "vp", "finance", "economic_buyer"),
    ("VP of Engineering", "vp", "engineering", "decision_maker"),
    ("VP Product Management", "vp", "product", "decision_maker"),
    ("V.P. Operations", "vp", "operations", "decision_maker"),
    ("Vice President, Customer Success", "vp", "customer_success", "decision_maker"),
    ("Senior Vice President of Human Resources", "vp", "hr", "influencer"),
    # Directors and heads
    ("Director of Sales", "director", "sales", "decision_maker"),
    ("Director of IT Procurement", "director", "procurement", "procurement"),
    ("Sr. Dir., Engineering", "director", "engineering", "decision_maker"),
    ("Dir. Marketing Operations", "director", "marketing", "decision_maker"),
    ("Head of Product", "director", "product", "decision_maker"),
    ("Head of Growth", "director", "marketing", "decision_maker"),
    ("Head of Legal", "director", "legal", "influencer"),
    ("Director, Financial Planning & Analysis", "director", "finance", "decision_maker"),
    ("Associate Director, IT Infrastructure", "director", "it", "decision_maker"),
    ("Director", "director", "executive", "decision_maker"),
    # Managers
    ("Customer Success Manager", "manager", "customer_success", "influencer"),
    ("Product Manager", "manager", "product", "influencer"),
    ("Sr. Mgr, Demand Generation", "manager", "marketing", "influencer"),
    ("Engineering Manager", "manager", "engineering", "technical_evaluator"),
    ("IT Manager", "manager", "it", "technical_evaluator"),
    ("Recruiting Manager", "manager", "hr", "influencer"),
    ("Assistant Manager", "manager", "other", "influencer"),
    ("Media Manager II", "manager", "marketing", "influencer"),
    ("Team Lead, Support Engineering", "manager", "engineering", "technical_evaluator"),
    ("Purchasing Manager", "manager", "procurement", "procurement"),
    # Individual contributors
    ("Account Executive", "individual", "sales", "end_user"),
    ("SDR", "individual", "sales", "end_user"),
    ("Business Development Representative", "individual", "sales", "end_user"),
    ("Software Engineer II", "individual", "engineering", "technical_evaluator"),
    ("Staff Engineer", "individual", "engineering", "technical_evaluator"),
    ("Principal Engineer", "individual", "engineering", "technical_evaluator"),
    ("Lead Data Scientist", "individual", "engineering", "technical_evaluator"),
    ("Chief Design Engineer", "individual", "engineering", "technical_evaluator"),
    ("Systems Administrator IV", "individual", "it", "technical_evaluator"),
    ("Database Administrator III", "individual", "it", "technical_evaluator"),
    ("Help Desk Technician", "individual", "it", "technical_evaluator"),
    ("Senior Financial Analyst", "individual", "finance", "end_user"),
    ("Tax Accountant", "individual", "finance", "end_user"),
    ("Internal Auditor", "individual", "finance", "end_user"),
    ("Marketing Assistant", "individual", "marketing", "end_user"),
    ("Graphic Designer", "individual", "marketing", "end_user"),
    ("Paralegal", "individual", "legal", "end_user"),
    ("HR Business Partner", "individual", "hr", "end_user"),
    ("Product Owner", "individual", "product", "end_user"),
    ("Buyer", "individual", "procurement", "procurement"),
    ("Media Buyer", "individual", "marketing", "end_user"),
    ("Intern", "individual", "other", "end_user"),
    ("Marketing Intern", "individual", "marketing", "end_user"),
    ("Registered Nurse", "individual", "other", "end_user"),
    ("Executive Assistant to the CEO", "individual", "executive", "end_user"),
    # German
    ("Geschäftsführer", "c_level", "executive", "economic_buyer"),
    ("Geschaeftsfuehrerin", "c_level", "executive", "economic_buyer"),
    ("Vorstandsvorsitzender", "c_level", "executive", "economic_buyer"),
    ("Leiter Einkauf", "director", "procurement", "procurement"),
    ("Vertriebsleiter", "director", "sales", "decision_maker"),
    ("Abteilungsleiter IT", "director", "it", "decision_maker"),
    ("Leiterin Marketing", "director", "marketing", "decision_maker"),
    ("Teamleiter Vertrieb", "manager", "sales", "influencer"),
    ("Produktmanager", "manager", "product", "influencer"),
    ("Softwareentwickler", "individual", "engineering", "technical_evaluator"),
    ("Einkäufer", "individual", "procurement", "procurement"),
    # French
    ("Directeur Général", "c_level", "executive", "economic_buyer"),
    ("Président-directeur général", "c_level", "executive", "economic_buyer"),
    ("PDG", "c_level", "executive", "economic_buyer"),
    ("Directrice Marketing", "director", "marketing", "decision_maker"),
    ("Directeur Commercial", "director", "sales", "decision_maker"),
    ("Directeur financier", "director", "finance", "decision_maker"),
    ("Responsable des achats", "manager", "procurement", "procurement"),
    ("Développeur", "individual", "engineering", "technical_evaluator"),
    # Spanish
    ("Director de Ventas", "director", "sales", "decision_maker"),
    ("Gerente de Compras", "manager", "procurement", "procurement"),
    ("Jefe de TI", "manager", "it", "technical_evaluator"),
    ("Gerente General", "c_level", "executive", "economic_buyer"),
    ("Consejero Delegado", "c_level", "executive", "economic_buyer"),
    ("Directora de Recursos Humanos", "director", "hr", "influencer"),
    # Italian
    ("Amministratore Delegato", "c_level", "executive", "economic_buyer"),
    ("Responsabile Acquisti", "manager", "procurement", "procurement"),
    ("Direttore Marketing", "director", "marketing", "decision_maker"),
    # Dutch
    ("Directeur", "director", "executive", "decision_maker"),
    ("Algemeen Directeur", "c_level", "executive", "economic_buyer"),
    ("Inkoper", "individual", "procurement", "procurement"),
    # Portuguese
    ("Diretor Financeiro", "director", "finance", "decision_maker"),
    ("Diretora de Tecnologia", "director", "engineering", "decision_maker"),
    # No usable title
    ("", "unknown", "other", "unknown"),
    ("n/a", "unknown", "other", "unknown"),
    ("-", "unknown", "other", "unknown"),
]


@pytest.mark.parametrize(("title", "seniority", "department", "role"), TITLES)
def test_classify_title_real_world_table(
    title: str, seniority: str, department: str, role: str
) -> None:
    profile = classify_title(title)
    assert (profile.seniority, profile.department, profile.buying_role) == (
        seniority,
        department,
        role,
    ), profile.reason


def test_title_table_is_large_and_multilingual() -> None:
    assert len(TITLES) >= 80
    assert len({t for t, *_ in TITLES}) == len(TITLES)


def test_classify_title_none_is_unknown() -> None:
    assert classify_title(None) == TitleProfile("unknown", "other", "unknown", "no usable title")


def test_classify_title_ignores_case_accents_and_punctuation() -> None:
    variants = ["Geschäftsführer", "GESCHÄFTSFÜHRER", "geschaeftsfuehrer", " Geschäftsführer. "]
    profiles = {
        (classify_title(v).seniority, classify_title(v).department, classify_title(v).buying_role)
        for v in variants
    }
    assert profiles == {("c_level", "executive", "economic_buyer")}


def test_classify_title_reason_names_deciding_keywords() -> None:
    reason = classify_title("SVP, Global Procurement").reason
    assert "svp" in reason
    assert "procurement" in reason


def test_classify_title_is_cached() -> None:
    first = classify_title("Director of Data Engineering")
    assert classify_title("Director of Data Engineering") is first


def test_fold_title_normalizes_abbreviations() -> None:
    assert fold_title("V.P., R&D") == "vp r and d"
    assert fold_title("Directrice Générale") == "directrice generale"


def test_classify_title_values_stay_in_vocabulary_on_realworld_contacts(realworld: Path) -> None:
    records = json.loads((realworld / "salesforce/apex-recipes/Contacts.json").read_text())
    titles = [r["title"] for r in records["records"] if r.get("title")]
    assert len(titles) >= 100
    for title in titles:
        profile = classify_title(title)
        assert profile.seniority in SENIORITIES
        assert profile.department in DEPARTMENTS
        assert profile.buying_role in BUYING_ROLES
        assert profile.seniority != "unknown", title
