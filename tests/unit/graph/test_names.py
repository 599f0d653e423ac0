"""Company-name normalization: legal forms, connectors, abbreviations, accents, punctuation."""

from __future__ import annotations

import pytest

from accord.graph.candidates import similarity
from accord.graph.names import name_key, normalize_name


@pytest.mark.parametrize(
    "variant",
    [
        "Acme",
        "ACME Corp.",
        "The Acme Corporation",
        "Acme, Inc.",
        "Acme LLC",
        "Acmé GmbH",
        "Acme AG",
        "Acme S.A.",
        "Acme SpA",
        "Acme S.r.l.",
        "Acme B.V.",
        "Acme N V",
        "Acme Oy",
        "Acme AB",
        "Acme K.K.",
        "Acme Pty Ltd",
        "Acme PLC",
        "Acme SARL",
        "Acme S.A.S.",
        "Acme Sp. z o.o.",
        "Acme S.A. de C.V.",
        "Acme GmbH & Co. KG",
        "PT Acme Tbk",
        "OOO Acme",
        "Acme A/S",
        "Acme.com",
    ],
)
def test_normalize_name_strips_legal_forms_in_many_languages(variant: str) -> None:
    assert name_key(variant) == "acme"


def test_normalize_name_reads_ampersand_and_connectors_alike() -> None:
    keys = {
        name_key(n) for n in ("Johnson & Johnson", "Johnson and Johnson", "JOHNSON und Johnson")
    }
    assert keys == {"johnsonjohnson"}
    assert name_key("Procter & Gamble Co.") == name_key("Procter and Gamble")


def test_normalize_name_maps_common_abbreviations() -> None:
    assert name_key("Acme Intl Svcs Grp") == name_key("Acme International Services Group")
    assert name_key("Acme Tech") == name_key("Acme Technologies")
    assert name_key("Acme Mfg") == name_key("Acme Manufacturing")


def test_normalize_name_folds_accents_case_and_punctuation() -> None:
    assert name_key("Société Générale") == name_key("SOCIETE GENERALE")
    assert name_key("Kühne + Nagel") == "kuhnenagel"
    assert name_key("O'Reilly Media") == name_key("OReilly Media")
    assert name_key("Wal-Mart") == name_key("Walmart")


def test_normalize_name_keeps_a_name_that_is_only_a_legal_form() -> None:
    assert normalize_name("Inc").compact == "inc"
    assert normalize_name("The").compact == "the"
    assert name_key("") == ""


def test_similarity_tolerates_a_typo_but_not_an_extra_word() -> None:
    base = normalize_name("Intercontinental Exchange")
    assert similarity(base, normalize_name("Intercontinentl Exchange")) >= 0.9
    assert similarity(base, normalize_name("Intercontinental Exchange Realty")) < 0.85
    assert similarity(normalize_name("Duke Energy"), normalize_name("Duke Realty")) < 0.85
    assert similarity(normalize_name("Group Quitzon"), normalize_name("Quitzon Group")) == 1.0
