"""The portal's pages read as a resident expects, in Japanese and in English.

The presentation functions are checked on their own (labels, formats, the fallback for an
unknown field, tables against cards, the exchange log in words), then the real pages of a
running portal (registry, municipality, gateway) on SQLite and PostgreSQL: every field on
"My information" labelled, no raw key visible, the ``lang`` attribute, the language switch
keeping the page's filters, and failed exchanges shown as 照会失敗 apart from their proof.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.usecases import InfoSection, LogLine, LogView
from services.gateway.web import i18n
from services.gateway.web.pages import present_log, present_section
from tests.integration.gateway.portal_env import PortalEnv

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


class _Main(HTMLParser):
    """The visible text inside <main>, the <html lang> and the language-switch link."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []
        self.lang = ""
        self.switch = ""
        self.labels: list[str] = []
        self._label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang") or ""
        if tag == "a" and a.get("id") == "lang-switch":
            self.switch = a.get("href") or ""
        if tag == "main" or self.depth:
            self.depth += 1
        self._label = self.depth > 0 and tag in ("dt", "th")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
        self._label = False

    def handle_data(self, data: str) -> None:
        if self.depth and data.strip():
            self.text.append(data.strip())
            if self._label:
                self.labels.append(data.strip())


def parse(html: str) -> _Main:
    """Parse one page."""
    page = _Main()
    page.feed(html)
    return page


def section(item: str, data: Mapping[str, Any]) -> InfoSection:
    """An item of "my information" as the use case returns it."""
    return InfoSection("health", item, "題", "Title", "ok", dict(data), "", 3)


# ------------------------------------------------------------------ presentation, no server


def test_yen_and_dates_in_each_language() -> None:
    assert i18n.format_yen(1234567, "ja") == "1,234,567円"
    assert i18n.format_yen(1234567, "en") == "¥1,234,567"
    assert i18n.format_yen(-500, "en") == "-¥500"
    assert i18n.format_date("2026-05-18", "ja") == "2026年5月18日"
    assert i18n.format_date("2026-05-18", "en") == "18 May 2026"
    assert i18n.format_date("not a date", "en") == "not a date"
    assert i18n.format_datetime("2026-11-26T04:33:00+00:00", "ja") == "2026年11月26日 13:33"
    assert i18n.format_datetime("2026-11-26T04:33:00+00:00", "en") == "26 Nov 2026, 13:33 JST"


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(i18n.LANGS))
def test_yen_keeps_every_digit(amount: int, lang: str) -> None:
    text = i18n.format_yen(amount, lang)
    assert int(re.sub(r"[^\d-]", "", text)) == amount
    assert text.endswith("円") if lang == "ja" else "¥" in text


@given(st.from_regex(r"[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,8}){0,4}", fullmatch=True))
def test_an_unknown_field_still_gets_a_readable_label(key: str) -> None:
    for lang in i18n.LANGS:
        label = i18n.field_label(lang, "no_such_item", key)
        assert label and "_" not in label


def test_coverage_is_labelled_and_formatted() -> None:
    period = {
        "status": "active",
        "plan": "national_health_insurance",
        "insurer_number": "233577",
        "insured_symbol": "66",
        "insured_number": "8622722",
        "insured_branch": "00",
        "valid_from": "2015-04-01",
        "valid_to": None,
        "copay_percent": 30,
    }
    ja = present_section("ja", section("coverage", {"current": period, "periods": [period]}))
    current = {f.key: f for f in ja.groups[0].facts}
    assert ja.groups[0].label == "現在の資格"
    assert current["plan"].text == "国民健康保険" and current["plan"].label == "保険の種類"
    assert current["status"].text == "有効"
    assert current["valid_from"].text == "2015年4月1日"
    assert current["valid_to"].text == "定めなし"
    assert current["copay_percent"].text == "3割（30%）"
    assert current["insured_branch"].text == "00"  # an identifier keeps its leading zero
    history = ja.groups[1].records
    assert history is not None and not history.as_table  # nine fields: cards, not a table
    en = present_section("en", section("coverage", {"current": None, "periods": []}))
    assert [(f.label, f.text) for f in en.facts] == [
        ("Current coverage", "No health insurance coverage today"),
        ("Coverage history", "None"),
    ]


def test_small_records_are_a_table_in_reading_order() -> None:
    visits = [
        {
            "amount_yen": 2650,
            "provider": "中央調剤薬局",
            "category": "pharmacy",
            "date": "2026-05-18",
        }
    ]
    en = present_section(
        "en", section("medical_expenses", {"year": 2026, "total_yen": 2650, "visits": visits})
    )
    assert [(f.label, f.text) for f in en.facts] == [
        ("Year", "2026"),
        ("Total medical costs", "¥2,650"),
    ]
    records = en.groups[0].records
    assert records is not None and records.as_table
    assert [c[1] for c in records.columns] == [
        "Date of visit",
        "Clinic or pharmacy",
        "Type",
        "Medical cost",
    ]
    assert [f.text for f in records.rows[0]] == [
        "18 May 2026",
        "中央調剤薬局",
        "Pharmacy",
        "¥2,650",
    ]


def test_vaccine_names_follow_the_language() -> None:
    data = {
        "vaccinations": [
            {
                "vaccine": "measles_rubella",
                "name": "麻しん風しん混合（MR）",
                "dose": 2,
                "date": "1993-06-10",
            }
        ]
    }
    en = present_section("en", section("vaccinations", data)).groups[0].records
    assert en is not None
    assert [f.text for f in en.rows[0]] == ["Measles-rubella (MR)", "Dose 2", "10 Jun 1993"]
    unknown = {
        "vaccinations": [
            {"vaccine": "new_vaccine", "name": "新ワクチン", "dose": 1, "date": "2020-01-01"}
        ]
    }
    ja = present_section("ja", section("vaccinations", unknown)).groups[0].records
    assert ja is not None and "新ワクチン" in [f.text for f in ja.rows[0]]


def test_failed_exchange_is_not_a_failed_proof() -> None:
    line = LogLine(
        7,
        "2026-11-26T04:33:00+00:00",
        "tax",
        "health",
        "medical_expenses",
        "tax.medical_deduction",
        "failed",
        "health holds no record of this person",
        "verified",
        False,
    )
    (ja,) = present_log("ja", LogView([line], 8, True, True))
    assert (ja.outcome_label, ja.proof) == ("照会失敗", "verified")
    assert ja.reason == "医療保険者にあなたの記録がありませんでした"
    assert (ja.requester_label, ja.item_label, ja.procedure_label) == (
        "税務署",
        "医療費通知情報",
        "医療費控除",
    )
    (en,) = present_log("en", LogView([line], 8, True, True))
    assert (en.outcome_label, en.procedure_label) == (
        "Exchange failed",
        "Medical-expense deduction",
    )
    odd = LogLine(
        8, "x", "tax", "health", "new_item", "tax.new", "denied", "other words", "failed", False
    )
    (shown,) = present_log("ja", LogView([odd], 9, True, False))
    assert (shown.outcome_label, shown.item_label, shown.procedure_label) == (
        "照会を拒否",
        "New item",
        "tax.new",
    )
    assert (shown.reason, shown.reason_lang) == ("other words", "en")


# ------------------------------------------------------------------ the real pages


def test_my_information_is_labelled_in_both_languages(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    for lang, name_label, sex in (
        ("ja", "氏名", {"male": "男", "female": "女"}),
        ("en", "Name", {"male": "Male", "female": "Female"}),
    ):
        response = client.get(f"/me?lang={lang}")
        assert response.status_code == 200
        page = parse(response.text)
        assert page.lang == lang
        assert SNAKE.findall(" ".join(page.text)) == [], lang
        assert name_label in page.labels
        assert not [x for x in page.labels if re.fullmatch(r"[a-z_]+", x)]
        assert sex[resident.demo.sex] in page.text
        year, month, day = (int(x) for x in resident.demo.birth_date.split("-"))
        birth = f"{year}年{month}月{day}日" if lang == "ja" else None
        if birth:
            assert birth in page.text
    client.close()


def test_exchange_log_in_words_and_the_switch_keeps_filters(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    client.get("/me")  # queries every agency; those not in this stack fail (no record)
    page = parse(client.get("/log?lang=ja&agency=municipality").text)
    assert page.lang == "ja"
    assert "マイナポータルでの閲覧" in page.text and "提供済み" in page.text
    assert page.switch.startswith("?") and "agency=municipality" in page.switch
    assert "lang=en" in page.switch
    # Entries newer than the newest checkpoint show as pending until one covers them (the
    # registry signs one within its interval, 200 ms here).
    deadline = time.monotonic() + 15
    while True:
        html = client.get("/log").text
        if 'data-proof="pending"' not in html or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    everything = parse(html)
    assert "照会失敗" in everything.text and "検証失敗" not in everything.text
    assert "✔ 検証済み" in " ".join(everything.text)
    assert 'data-proof="pending"' not in html
    en = parse(client.get("/log?lang=en").text)
    assert en.lang == "en" and "Viewed on the portal" in en.text and "Exchange failed" in en.text
    assert SNAKE.findall(" ".join(en.text)) == []
    client.close()
