"""Seniority, department and buying role from a job title.

`classify_title(title)` returns a `TitleProfile`; its `reason` names the keywords that
decided. Titles are accent-folded and lower-cased first (`Geschäftsführer` and
`Geschaeftsfuehrer` read alike; `V.P.` reads as `vp`; `&` as `and`), then matched against
word-boundary patterns compiled once at import. Results are cached.

Seniority: the first level whose patterns match, checked in this order:

1. an assistant to someone (`Executive Assistant to the CEO`) -> `individual`;
2. `c_level`: CEO/CFO/CTO/CIO/CISO/CRO/CMO/COO/CPO/CHRO/CLO/CCO, `Chief ... Officer`,
   Founder, Owner (not Product Owner), President (not Vice President), Managing Director,
   General Manager, a bare Partner or Principal, Chairman, and the non-English forms
   (Geschäftsführer, Vorstand, Inhaber, PDG, Directeur Général, Gérant, Director General,
   Consejero Delegado, Gerente General, Amministratore Delegato, Algemeen Directeur, ...);
3. `vp`: VP/SVP/EVP/AVP, Vice President, Vizepräsident, Vicepresidente;
4. `director`: Director/Dir., Head (of), Directeur/Directrice, Director de, Direktor,
   Direttore, Diretor, German `...leiter` (Abteilungsleiter, Vertriebsleiter, Leiter Einkauf),
   Hoofd;
5. `manager`: Manager/Mgr (also German compounds such as Produktmanager), Supervisor, Team
   Lead, Teamleiter/Gruppenleiter/Projektleiter, Gerente, Jefe, Responsable, Responsabile;
6. `individual`: any other title with at least one word (Engineer, SDR, Account Executive,
   Intern, Sr./Staff/Principal/Lead Engineer, Inkoper, ...);
7. `unknown`: no title, or a placeholder such as `n/a` or `-`.

Department: every department pattern is tried; patterns sit in tiers, and the lowest tier
wins, then the earliest match in the title, then the longest. Tier 1 holds the functions that
qualify others (procurement, legal, HR: `Director of IT Procurement` is procurement); tier 2
the business functions (customer success, finance, marketing, sales, product: `VP, Sales &
Marketing` is sales); tier 3 engineering and IT; tier 4 operations; tier 5 executive (CEO,
Founder, Owner, ...). A C-level title with no department keyword is `executive`; any other
title without one is `other`.

Buying role, from seniority and department (champion and blocker are earned by behaviour,
never read from a title):

- unknown seniority -> `unknown`;
- procurement department -> `procurement`;
- `c_level` in executive or finance -> `economic_buyer`; other `c_level` -> `decision_maker`;
- `vp` in finance -> `economic_buyer`;
- `vp` or `director` in a buying department (`BUYING_DEPARTMENTS`: every department but HR,
  legal and other) -> `decision_maker`; elsewhere -> `influencer`;
- `manager` or `individual` in engineering or IT -> `technical_evaluator`;
- other `manager` -> `influencer`; other `individual` -> `end_user`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

__all__ = [
    "BUYING_DEPARTMENTS",
    "BUYING_ROLES",
    "DEPARTMENTS",
    "SENIORITIES",
    "BuyingRole",
    "Department",
    "Seniority",
    "TitleProfile",
    "classify_title",
    "fold_title",
]

Seniority = Literal["c_level", "vp", "director", "manager", "individual", "unknown"]
Department = Literal[
    "executive",
    "engineering",
    "it",
    "product",
    "marketing",
    "sales",
    "customer_success",
    "finance",
    "operations",
    "hr",
    "legal",
    "procurement",
    "other",
]
BuyingRole = Literal[
    "economic_buyer",
    "decision_maker",
    "technical_evaluator",
    "influencer",
    "end_user",
    "procurement",
    "unknown",
]

SENIORITIES: Final[tuple[Seniority, ...]] = (
    "c_level",
    "vp",
    "director",
    "manager",
    "individual",
    "unknown",
)
DEPARTMENTS: Final[tuple[Department, ...]] = (
    "executive",
    "engineering",
    "it",
    "product",
    "marketing",
    "sales",
    "customer_success",
    "finance",
    "operations",
    "hr",
    "legal",
    "procurement",
    "other",
)
BUYING_ROLES: Final[tuple[BuyingRole, ...]] = (
    "economic_buyer",
    "decision_maker",
    "technical_evaluator",
    "influencer",
    "end_user",
    "procurement",
    "unknown",
)
BUYING_DEPARTMENTS: Final[frozenset[Department]] = frozenset(DEPARTMENTS) - {
    "hr",
    "legal",
    "other",
}


@dataclass(frozen=True, slots=True)
class TitleProfile:
    """What a job title says about a person's place in a buying committee."""

    seniority: Seniority
    department: Department
    buying_role: BuyingRole
    reason: str


def _rx(*alternatives: str) -> re.Pattern[str]:
    """One word-bounded pattern over the alternatives."""
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


_DIRECTOR_WORDS = r"(?:director|directora|directeur|directrice|diretor|diretora|direttore)"
_GENERAL = r"(?:general|generale|generala|geral)"

_SENIORITY_RULES: Final[tuple[tuple[Seniority, re.Pattern[str]], ...]] = (
    (
        "individual",
        _rx(
            r"(?:executive|personal|administrative) assistant",
            r"assistant to",
            r"executive secretary",
            r"assistente",
            r"assistentin",
            r"sekretar(?:in)?",
        ),
    ),
    (
        "c_level",
        _rx(
            r"ceo|cfo|cto|cio|ciso|cro|cmo|coo|cpo|chro|clo|cco|cdo|cso|cxo",
            r"chief(?: \w+){1,4} officer",
            r"chief executive",
            r"co ?founder|founder|founding partner",
            r"fundador[a]?|fondat(?:eur|rice|ore)|grunder(?:in)?",
            r"(?<!product )(?<!process )(?<!data )(?<!service )owner|inhaber(?:in)?|eigenaar",
            r"propietari[oa]|proprietaire|proprietari[oa]",
            r"(?<!vice )president[ea]?",
            r"managing director|general manager|managing partner|general partner",
            r"chairman|chairwoman|chairperson|chair of the board",
            r"^(?:senior |equity |founding |name )?partner$",
            r"^principal$",
            r"gesch(?:a|ae)ftsf(?:u|ue)hrer(?:in)?|vorstand\w*|vorsitzende[r]?",
            r"pdg|dg|g[e]rant[e]?",
            _DIRECTOR_WORDS + " " + _GENERAL,
            r"general director",
            r"consejer[oa] delegad[oa]|gerente general|amministratore delegato",
            r"algemeen directeur|algemene directie",
        ),
    ),
    (
        "vp",
        _rx(
            r"vp|svp|evp|avp|rvp|gvp|vice president[ea]?|vicepresident[ea]?|vice pres",
            r"vize ?prasident(?:in)?",
        ),
    ),
    (
        "director",
        _rx(
            _DIRECTOR_WORDS,
            r"dir|direktor(?:in)?|direttrice|directorate",
            r"head|hoofd|chief of staff",
            r"(?!team|gruppen|projekt|schicht|filial)\w*leiter(?:in)?",
        ),
    ),
    (
        "manager",
        _rx(
            r"\w*manager|mgr|mngr|managers",
            r"supervisor|superintendent|foreman",
            r"team ?lead(?:er)?|group lead",
            r"(?:team|gruppen|projekt|schicht|filial)leiter(?:in)?",
            r"gerente|jef[ea]|responsable|responsabile|encargad[oa]",
            r"manag(?:ing|ement) lead",
        ),
    ),
)

# (department, tier, pattern); the lowest tier wins, then the earliest, then the longest.
_DEPARTMENT_RULES: Final[tuple[tuple[Department, int, re.Pattern[str]], ...]] = (
    ("marketing", 1, _rx(r"media buyer", r"media buying")),
    (
        "procurement",
        1,
        _rx(
            r"procurement|purchasing|purchaser|buyer|sourcing|vendor management",
            r"chief procurement officer|supplier management|category manager",
            r"einkauf\w*|einkaufer(?:in)?|achats?|acheteu(?:r|se)",
            r"compras?|comprador[a]?|acquisti|approvvigionamenti|buyer",
            r"inkoop\w*|inkoper|compras|aquisicoes",
        ),
    ),
    (
        "legal",
        1,
        _rx(
            r"legal|counsel|attorney|lawyer|paralegal|solicitor|juridique|juridico",
            r"jurist\w*|rechtsabteilung|recht|abogad[oa]|avvocato|legale|clo",
            r"compliance|privacy officer|contracts? manager",
        ),
    ),
    (
        "hr",
        1,
        _rx(
            r"hr|hrbp|chro|human resources?|people (?:ops|operations|partner|team)",
            r"chief people officer|people and culture|talent|recruit\w*",
            r"personal\w*leiter|leiter personal|personalreferent\w*|personalwesen",
            r"ressources humaines|recursos humanos|risorse umane|rh|rrhh",
            r"payroll|compensation|benefits|learning and development",
            r"personeelszaken|hrm",
        ),
    ),
    (
        "customer_success",
        2,
        _rx(
            r"customer success|client success|customer experience|cx|csm",
            r"customer (?:service|care|support)|client (?:service|services|care|support)",
            r"account management|chief customer officer|onboarding",
            r"kundenservice|kundenbetreuung|service client|atencion al cliente",
        ),
    ),
    (
        "finance",
        2,
        _rx(
            r"financ\w*|cfo|accounting|accountant\w*|accounts (?:payable|receivable)",
            r"controller|controlling|comptroller|treasur\w*|tax|audit\w*|fp and a",
            r"actuar\w*|billing|payments?|bookkeep\w*|credit",
            r"finanz\w*|buchhaltung|buchhalter(?:in)?|comptab\w*|contab\w*|contador[a]?",
            r"financier|financiere|financiero|financeir[oa]|financieel|boekhoud\w*",
            r"kaufmannisch\w*",
        ),
    ),
    (
        "marketing",
        2,
        _rx(
            r"marketing\w*|cmo|brand\w*|communications?|pr|public relations",
            r"demand gen\w*|growth|content|seo|sem|social media|media|advertising",
            r"events?|copywriter|editor|graphic design\w*|web design\w*",
            r"product marketing",
            r"mercadotecnia|comunicacion|comunicazione|kommunikation|werbung",
        ),
    ),
    (
        "sales",
        2,
        _rx(
            r"sales|cro|business development|bdr|sdr|bdm|inside sales|field sales",
            r"account (?:executive|manager|director|coordinator|representative|rep)",
            r"key account\w*|revenue(?! (?:accounting|accountant|cycle|assurance))",
            r"revops|partnerships?|channel|alliances?|commercial\w*|commerciale",
            r"vertrieb\w*|verkauf\w*|ventes?|ventas|vendite|verkoop\w*|vendas",
            r"comercial|commerciel\w*",
        ),
    ),
    (
        "product",
        2,
        _rx(
            r"products?|cpo|product management|product owner|ux|ui|user experience",
            r"user research\w*|designer|product design\w*",
            r"produkt\w*|produit|producto|prodotto|produto",
        ),
    ),
    (
        "engineering",
        2,
        _rx(
            r"product engineer\w*|design engineer\w*|circuit design|hardware design",
            r"chip design",
        ),
    ),
    (
        "it",
        3,
        _rx(
            r"it|ict|cio|ciso|information technology|information|security|infosec",
            r"cyber ?security|systems? administrator|sysadmin|network\w*",
            r"help ?desk|desktop support|technical support|it support|infrastructure",
            r"computer systems|database administrator|dba",
            r"informatique|informatica|informatik|edv|ti",
            r"tecnologias de la informacion|sistemas|sistemi|systemes d information",
        ),
    ),
    (
        "engineering",
        3,
        _rx(
            r"engineer\w*|developer|development|software\w*|cto|devops|sre|architect\w*",
            r"programmer|programming|data scien\w*|machine learning|ml|ai|qa",
            r"quality assurance|technolog\w*|tecnolog\w*|technical|automation|r and d",
            r"research and development|research scientist|research engineer",
            r"entwickl\w*|\w*entwickler(?:in)?|ingenieur\w*|ingenier[oa]|ingegner[ea]",
            r"desarrollador[a]?",
            r"sviluppatore|developpeu(?:r|se)|ontwikkelaar|engenheir[oa]|tecnic[oa]",
        ),
    ),
    (
        "operations",
        4,
        _rx(
            r"operations|operating|ops|coo|supply chain|logistics?|facilit\w*",
            r"manufacturing|production|plant|warehouse|quality control",
            r"office (?:manager|administrator|assistant|coordinator)",
            r"betrieb\w*|logistik|produktion|operaciones|operacoes|operazioni",
        ),
    ),
    (
        "executive",
        5,
        _rx(
            r"ceo|chief executive|chief of staff|founder|co ?founder|owner|(?<!vice )president",
            r"executive director",
            r"managing director|general manager|managing partner|partner|principal",
            r"chairman|chairwoman|chairperson|board|executive (?:assistant|secretary)",
            r"gesch(?:a|ae)ftsf(?:u|ue)hr\w*|vorstand\w*|inhaber(?:in)?|pdg|dg",
            r"directeur general|directrice generale|director general|gerente general",
            r"amministratore delegato|consejer[oa] delegad[oa]|algemeen directeur",
        ),
    ),
)

_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {"", "n a", "na", "none", "null", "unknown", "tbd", "x", "test", "title", "other"}
)
_FILLERS: Final[frozenset[str]] = frozenset(
    {"senior", "sr", "junior", "jr", "the", "of", "and", "associate", "assistant", "deputy"}
)
_DOTTED = re.compile(r"\b(?:[a-z]\.){2,}")
_AMPERSAND = re.compile(r"\s*&\s*")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def fold_title(title: str) -> str:
    """Lower-case ASCII words of a title: accents dropped, `V.P.` -> `vp`, `&` -> `and`."""
    text = unicodedata.normalize("NFKD", title.replace("ß", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    text = _AMPERSAND.sub(" and ", text)
    return _NON_WORD.sub(" ", text).strip()


def _seniority(folded: str) -> tuple[Seniority, str]:
    for level, pattern in _SENIORITY_RULES:
        found = pattern.search(folded)
        if found:
            return level, found.group(0)
    if folded in _PLACEHOLDERS or not any(c.isalpha() for c in folded):
        return "unknown", ""
    return "individual", ""


def _is_bare(folded: str, level_word: str) -> bool:
    """True when the title is only its rank (`Director`, `Sr. Directeur`, `VP`)."""
    rest = folded.replace(level_word, " ", 1).split() if level_word else folded.split()
    return all(word in _FILLERS for word in rest)


def _department(folded: str, seniority: Seniority, level_word: str) -> tuple[Department, str]:
    best: tuple[int, int, int] | None = None
    chosen: tuple[Department, str] = ("other", "")
    for department, tier, pattern in _DEPARTMENT_RULES:
        found = pattern.search(folded)
        if not found:
            continue
        rank = (tier, found.start(), -len(found.group(0)))
        if best is None or rank < best:
            best, chosen = rank, (department, found.group(0))
    if best is None and (
        seniority == "c_level" or (seniority in {"vp", "director"} and _is_bare(folded, level_word))
    ):
        return "executive", ""
    return chosen


def _buying_role(seniority: Seniority, department: Department) -> BuyingRole:
    if seniority == "unknown":
        return "unknown"
    if department == "procurement":
        return "procurement"
    if seniority == "c_level":
        return "economic_buyer" if department in {"executive", "finance"} else "decision_maker"
    if seniority == "vp" and department == "finance":
        return "economic_buyer"
    if seniority in {"vp", "director"}:
        return "decision_maker" if department in BUYING_DEPARTMENTS else "influencer"
    if department in {"engineering", "it"}:
        return "technical_evaluator"
    return "influencer" if seniority == "manager" else "end_user"


@lru_cache(maxsize=65_536)
def classify_title(title: str | None) -> TitleProfile:
    """Seniority, department and buying role for a job title (`None` or empty: unknown)."""
    folded = fold_title(title) if title else ""
    seniority, level_word = _seniority(folded)
    if seniority == "unknown":
        return TitleProfile("unknown", "other", "unknown", "no usable title")
    department, department_word = _department(folded, seniority, level_word)
    role = _buying_role(seniority, department)
    reason = (
        f"seniority {seniority} ({level_word or 'default'}); "
        f"department {department} ({department_word or 'default'}); "
        f"role {role} from {seniority} + {department}"
    )
    return TitleProfile(seniority, department, role, reason)
