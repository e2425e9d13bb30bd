"""The manufacturers reference list in schema.sql: its keys are normalised names, and the names a
trace meets resolve to the maker they belong to (Izhmash -> Kalashnikov Concern, FN -> FN Herstal),
while names shared by several makers resolve to nothing but themselves."""

from __future__ import annotations

import pytest

from service.db import Connection
from service.domain.serials import normalise_name

# The list holds about 110 makers, each with a country; fewer means it was cut short or not loaded.
MINIMUM_MANUFACTURERS = 100

# (a name found on weapons or in records, the reference maker it belongs to)
ALIASES = [
    ("Izhmash", "Kalashnikov Concern"),
    ("Ижмаш", "Kalashnikov Concern"),
    ("Izhevsk Machine-Building Plant", "Kalashnikov Concern"),
    ("Baikal", "Izhevsk Mechanical Plant"),
    ("Izhmekh", "Izhevsk Mechanical Plant"),
    ("FN", "FN Herstal"),
    ("Fabrique Nationale", "FN Herstal"),
    ("Fabrique Nationale d'Herstal", "FN Herstal"),
    ("H&K", "Heckler & Koch"),
    ("Heckler und Koch", "Heckler & Koch"),
    ("Crvena Zastava", "Zastava Arms"),
    ("Zastava Oruzje", "Zastava Arms"),
    ("Česká zbrojovka", "Česká zbrojovka"),
    ("CZUB", "Česká zbrojovka"),
    ("Ceska Zbrojovka Uhersky Brod", "Česká zbrojovka"),
    ("Factory 66", "Chinese State Factory 66"),
    ("State Factory 386", "Chinese State Factory 386"),
    ("China North Industries Corporation", "Norinco"),
    ("Diemaco", "Colt Canada"),
    ("S&W", "Smith & Wesson"),
    ("Ruger", "Sturm, Ruger & Co."),
    ("Nexter", "KNDS France"),
    ("Manufacture d'armes de Saint-Étienne", "KNDS France"),
    ("Soltam Systems", "Elbit Systems"),
    ("IMI", "Israel Military Industries"),
    ("IWI", "Israel Weapon Industries"),
    ("Ordnance Factory Board", "Advanced Weapons and Equipment India"),
    ("Saab Bofors Dynamics", "Saab"),
    ("Hughes Missile Systems", "Raytheon"),
    ("Uzina Mecanica Cugir", "Cugir Mechanical Plant"),
    ("Fabrica de Arme Cugir", "Cugir Arms Factory"),
    ("Valmet", "Sako"),
    ("Daewoo Precision Industries", "SNT Motiv"),
    ("Fegyver- es Gazkeszulekgyar", "FÉG"),
    ("Lucznik", "Fabryka Broni Łucznik-Radom"),
]

# Names shared by several makers, and designers' names, are deliberately nobody's alias.
NOT_ALIASES = [
    "Arsenal",
    "IZh",
    "Izhevsk",
    "SIG",
    "SIG Arms",
    "Sauer",
    "Bofors",
    "Cugir",
    "Springfield Armory",
    "Armscor",
    "MIC",
    "KMZ",
    "Kalashnikov",
    "Tokarev",
]


def key_for(db: Connection, name: str) -> str:
    """The manufacturer key the registry records for a name."""
    row = db.execute("SELECT manufacturer_key_for(%s) AS key", [normalise_name(name)]).fetchone()
    assert row is not None
    return str(row["key"])


def test_the_list_is_loaded_with_countries(db: Connection) -> None:
    row = db.execute(
        "SELECT count(*) AS makers, count(c.code) AS with_country"
        " FROM manufacturers m LEFT JOIN countries c ON c.code = m.country"
    ).fetchone()

    assert row is not None
    assert row["makers"] >= MINIMUM_MANUFACTURERS
    assert row["with_country"] >= MINIMUM_MANUFACTURERS


def test_every_manufacturer_goes_by_its_own_name(db: Connection) -> None:
    missing = db.execute(
        """
        SELECT m.name FROM manufacturers m
        WHERE NOT EXISTS (SELECT 1 FROM manufacturer_aliases a
                          WHERE a.alias_key = m.key AND a.manufacturer_key = m.key
                            AND a.alias = m.name)
        """
    ).fetchall()

    assert missing == []


def test_keys_are_the_normalised_names(db: Connection) -> None:
    makers = db.execute("SELECT key, name FROM manufacturers").fetchall()
    aliases = db.execute("SELECT alias_key, alias FROM manufacturer_aliases").fetchall()

    assert [m for m in makers if m["key"] != normalise_name(m["name"])] == []
    assert [a for a in aliases if a["alias_key"] != normalise_name(a["alias"])] == []


@pytest.mark.parametrize(("alias", "maker"), ALIASES)
def test_an_alias_resolves_to_its_maker(db: Connection, alias: str, maker: str) -> None:
    key = key_for(db, alias)

    row = db.execute("SELECT name FROM manufacturers WHERE key = %s", [key]).fetchone()
    assert row is not None, alias
    assert (key, row["name"]) == (normalise_name(maker), maker)


def test_the_two_izhevsk_plants_are_different_makers(db: Connection) -> None:
    assert key_for(db, "Izhmekh") != key_for(db, "Izhmash")


@pytest.mark.parametrize("name", NOT_ALIASES)
def test_an_ambiguous_name_resolves_to_itself(db: Connection, name: str) -> None:
    assert key_for(db, name) == normalise_name(name)


def test_an_unknown_name_resolves_to_its_normalised_form(db: Connection) -> None:
    assert key_for(db, "Acme Arms Works, Ltd.") == "ACMEARMSWORKSLTD"
