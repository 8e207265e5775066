"""Unit tests of the municipality's rules: areas, care certification, support, evacuation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mynumber_core.calendar import age_on
from mynumber_core.errors import InvalidInput
from services.municipality import domain
from services.municipality.domain import AreaLevel, DamageLevel

# --- areas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "prefecture", "city", "ward"),
    [
        ("宮城県石巻市穀町14番1号", "宮城県", "石巻市", None),
        ("宮城県仙台市青葉区国分町3丁目7-1", "宮城県", "仙台市", "青葉区"),
        ("宮城県牡鹿郡女川町女川浜字大原1-1", "宮城県", "牡鹿郡女川町", None),
        ("東京都千代田区千代田1-1", "東京都", "千代田区", None),
        ("東京都三宅島三宅村阿古497", "東京都", "三宅島三宅村", None),
        ("東京都小笠原村父島字東町152", "東京都", "小笠原村", None),
        ("山口県大島郡周防大島町小松126-2", "山口県", "大島郡周防大島町", None),
        ("三重県四日市市諏訪町1-5", "三重県", "四日市市", None),
        ("奈良県大和郡山市北郡山町248-4", "奈良県", "大和郡山市", None),
        ("福島県郡山市朝日1丁目23-7", "福島県", "郡山市", None),
        ("鹿児島県鹿児島郡三島村竹島1", "鹿児島県", "鹿児島郡三島村", None),
        ("北海道札幌市中央区北1条西2丁目", "北海道", "札幌市", "中央区"),
        ("神奈川県横浜市港北区東三島17丁目4番16号", "神奈川県", "横浜市", "港北区"),
        ("広島県広島市中区国泰寺町1-6-34", "広島県", "広島市", "中区"),
        ("東京都八王子市元本郷町3-24-1", "東京都", "八王子市", None),
        ("京都府京都市中京区寺町通御池上る上本能寺前町488", "京都府", "京都市", "中京区"),
    ],
)
def test_address_areas(address: str, prefecture: str, city: str, ward: str | None) -> None:
    area = domain.address_area(address)
    assert (area.prefecture, area.city, area.ward) == (prefecture, city, ward)


@pytest.mark.parametrize("address", ["石巻市穀町14", "宮城県", "宮城県 ", "Miyagi Ishinomaki", ""])
def test_addresses_without_prefecture_and_city_are_rejected(address: str) -> None:
    with pytest.raises(InvalidInput):
        domain.address_area(address)


def test_disaster_area_levels() -> None:
    assert domain.parse_disaster_area("宮城県").level is AreaLevel.PREFECTURE
    assert domain.parse_disaster_area("宮城県石巻市").level is AreaLevel.CITY
    assert domain.parse_disaster_area("宮城県 仙台市 青葉区").level is AreaLevel.WARD
    with pytest.raises(InvalidInput, match="not a street address"):
        domain.parse_disaster_area("宮城県石巻市穀町14番1号")
    with pytest.raises(InvalidInput, match="prefecture"):
        domain.parse_disaster_area("石巻市")


CITIES = ["石巻市", "牡鹿郡女川町", "千代田区", "三宅島三宅村", "大和郡山市", "郡山市", "四日市市"]


@given(
    st.sampled_from(domain.PREFECTURES),
    st.sampled_from(CITIES),
    st.text(alphabet="0123456789丁目番号町字-東西南北川田中", max_size=20),
)
def test_an_address_lies_in_its_prefecture_and_city(pref: str, city: str, street: str) -> None:
    area = domain.address_area(pref + city + street)
    assert area.key(AreaLevel.PREFECTURE) == pref
    assert area.key(AreaLevel.CITY) == pref + city
    disaster = domain.parse_disaster_area(pref + city)
    assert disaster.key(disaster.level) == area.key(AreaLevel.CITY)


def test_a_neighbouring_city_does_not_match() -> None:
    home = domain.address_area("宮城県東松島市矢本字上河戸36-1")
    disaster = domain.parse_disaster_area("宮城県石巻市")
    assert home.key(AreaLevel.CITY) != disaster.key(AreaLevel.CITY)
    assert home.key(AreaLevel.PREFECTURE) == disaster.key(AreaLevel.PREFECTURE)


def test_same_address_ignores_width_and_spaces() -> None:
    assert domain.same_address("宮城県石巻市穀町１４番１号", "宮城県 石巻市 穀町14番1号")
    assert not domain.same_address("宮城県石巻市穀町14番1号", "宮城県石巻市穀町14番2号")


# --- long-term care ---------------------------------------------------------------------

BIRTH = dt.date(1950, 4, 1)
TODAY = dt.date(2025, 6, 1)


def test_care_level_labels() -> None:
    labels = [level.label for level in domain.CareLevel]
    assert labels == ["要支援1", "要支援2", "要介護1", "要介護2", "要介護3", "要介護4", "要介護5"]
    assert not domain.CareLevel.SUPPORT_2.needs_care and domain.CareLevel.CARE_1.needs_care


def test_care_certification_rules() -> None:
    cert = domain.CareCertification.parse(
        5, "2025-05-20", "2025-05-01", "2026-04-30", birth_date=BIRTH, today=TODAY
    )
    assert cert.level is domain.CareLevel.CARE_3 and cert.valid_on(TODAY)
    bad = [
        (0, "2025-05-20", "2025-05-01", "2026-04-30", BIRTH, "level"),
        (8, "2025-05-20", "2025-05-01", "2026-04-30", BIRTH, "level"),
        (3, "2025-07-01", "2025-07-01", "2026-04-30", BIRTH, "future"),
        (3, "2025-05-20", "2025-05-01", "2025-04-30", BIRTH, "after valid_from"),
        (3, "2025-05-20", "2025-05-01", "2029-06-30", BIRTH, "48 months"),
        (3, "2025-05-20", "2025-01-01", "2026-04-30", BIRTH, "at most a month"),
        (3, "2025-05-20", "2025-05-01", "2026-04-30", dt.date(1990, 1, 1), "aged 40"),
        (3, "2025-02-30", "2025-05-01", "2026-04-30", BIRTH, "real calendar date"),
    ]
    for level, certified, start, end, birth, fragment in bad:
        with pytest.raises(InvalidInput, match=fragment):
            domain.CareCertification.parse(
                level, certified, start, end, birth_date=birth, today=TODAY
            )


def test_current_certification_is_the_latest_valid_one() -> None:
    old = domain.CareCertification(
        domain.CareLevel.CARE_1, dt.date(2024, 4, 1), dt.date(2024, 4, 1), dt.date(2026, 3, 31)
    )
    newer = domain.CareCertification(
        domain.CareLevel.CARE_3, dt.date(2025, 5, 1), dt.date(2025, 5, 1), dt.date(2026, 4, 30)
    )
    expired = domain.CareCertification(
        domain.CareLevel.CARE_5, dt.date(2022, 1, 1), dt.date(2022, 1, 1), dt.date(2023, 12, 31)
    )
    assert domain.current_certification([old, newer, expired], TODAY) == newer
    assert domain.current_certification([expired], TODAY) is None


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 1, 1)), st.integers(0, 40000)
)
def test_age_grows_by_one_on_each_birthday(birth: dt.date, days: int) -> None:
    day = birth + dt.timedelta(days=days)
    age = age_on(birth, day)
    assert age >= 0
    assert age_on(birth, day + dt.timedelta(days=366)) in (age + 1, age + 2)


# --- victim support ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "size", "income", "age", "care", "expected"),
    [
        (DamageLevel.TOTAL_COLLAPSE, 3, 4_000_000, 40, False, 1_000_000),
        (DamageLevel.TOTAL_COLLAPSE, 1, 2_000_000, 80, False, 750_000),
        (DamageLevel.LARGE_SCALE_HALF, 2, 5_000_000, 30, False, 500_000),
        (DamageLevel.TOTAL_COLLAPSE, 4, 6_000_000, 50, False, 500_000),
        (DamageLevel.TOTAL_COLLAPSE, 4, 6_000_000, 40, False, 0),
        (DamageLevel.TOTAL_COLLAPSE, 4, 6_000_000, 40, True, 500_000),
        (DamageLevel.TOTAL_COLLAPSE, 2, 7_500_000, 62, False, 500_000),
        (DamageLevel.TOTAL_COLLAPSE, 2, 7_500_000, 55, False, 0),
        (DamageLevel.TOTAL_COLLAPSE, 1, 7_500_000, 65, False, 375_000),
        (DamageLevel.TOTAL_COLLAPSE, 2, 8_000_001, 70, True, 0),
        (DamageLevel.MEDIUM_SCALE_HALF, 3, 1_000_000, 40, False, 0),
        (DamageLevel.LONG_TERM_EVACUATION, 2, 0, 33, False, 1_000_000),
    ],
)
def test_victim_support_rule(
    damage: DamageLevel, size: int, income: int, age: int, care: bool, expected: int
) -> None:
    decision = domain.victim_support(damage, size, income, age, care)
    assert decision.support_yen == expected
    assert damage.label in decision.basis


@given(
    st.sampled_from(list(DamageLevel)),
    st.integers(1, 10),
    st.integers(0, 20_000_000),
    st.integers(0, 20_000_000),
    st.integers(18, 110),
    st.booleans(),
)
def test_support_never_exceeds_base_and_never_grows_with_income(
    damage: DamageLevel, size: int, income_a: int, income_b: int, age: int, care: bool
) -> None:
    low, high = sorted((income_a, income_b))
    a = domain.victim_support(damage, size, low, age, care).support_yen
    b = domain.victim_support(damage, size, high, age, care).support_yen
    assert 0 <= b <= a <= domain.BASE_SUPPORT_YEN[damage]


def test_support_rejects_impossible_households() -> None:
    with pytest.raises(InvalidInput):
        domain.victim_support(DamageLevel.TOTAL_COLLAPSE, 0, 0, 40, False)
    with pytest.raises(InvalidInput):
        domain.victim_support(DamageLevel.TOTAL_COLLAPSE, 1, -1, 40, False)


# --- evacuation support and partner data --------------------------------------------------


def test_evacuation_need() -> None:
    care3 = domain.CareCertification(
        domain.CareLevel.CARE_3, dt.date(2025, 1, 1), dt.date(2025, 1, 1), dt.date(2026, 1, 1)
    )
    support1 = domain.CareCertification(
        domain.CareLevel.SUPPORT_1, dt.date(2025, 1, 1), dt.date(2025, 1, 1), dt.date(2026, 1, 1)
    )
    assert domain.evacuation_need(care3, [], 70, 2).reasons == ("ltc:要介護3",)
    assert not domain.evacuation_need(support1, [], 70, 2).needed
    assert domain.evacuation_need(None, [], 80, 1).reasons == ("elderly_living_alone",)
    assert not domain.evacuation_need(None, [], 80, 2).needed
    assert domain.evacuation_need(None, ["disability_grade_1"], 30, 3).needed


def test_care_flags_and_income_from_partner_answers() -> None:
    answer = {
        "disability_grade": 2,
        "chronic_care": ["dialysis", "home_oxygen"],
        "needs_evacuation_assistance": True,
    }
    assert domain.care_flags_from(answer) == [
        "chronic_care:dialysis",
        "chronic_care:home_oxygen",
        "disability_grade_2",
        "needs_evacuation_assistance",
    ]
    none = {"disability_grade": 0, "chronic_care": [], "needs_evacuation_assistance": False}
    assert domain.care_flags_from(none) == []
    assert domain.care_flags_from({"flags": ["b", "a"]}) == ["a", "b"]
    assert domain.income_from({"year": 2024, "total_income": 3_200_000}) == 3_200_000
    assert domain.income_from({"year": 2024}) is None
    assert domain.income_from({"total_income": True}) is None
