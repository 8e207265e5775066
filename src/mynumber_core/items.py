"""The catalogue of exchange items and event types: one source for their names and titles.

Every data item a provider answers through the hub (``Provider.Provide``) has one
:class:`Item` here, keyed by (provider, item): its Japanese and English titles, the fields its
answer carries (in the order a resident reads them, nested fields included) and its
parameters. Every event type published through the hub has one :class:`EventType`.

Who reads it:

* the registry's access-rights table (``services/registry/access_rights.toml``) may only name
  items and event types listed here (checked when the table is loaded);
* the portal's "my information" page lists the items marked ``portal=True``, in catalogue
  order, under their titles;
* the portal's exchange-log page and its labels (``services/gateway/web/i18n.py``) take item
  and event titles from here, so both pages show the same title for the same item.

A new item is one :class:`Item` below (and its row in the access-rights table, its provider's
``Provide`` handler and its README line). Titles follow the official マイナポータル wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Item:
    """One data item a provider answers through the hub."""

    provider: str
    name: str
    title_ja: str
    title_en: str
    fields: tuple[str, ...]
    """Every field of the answer (nested ones too), in the order a resident reads them."""
    params: tuple[str, ...] = ()
    """Parameters the query carries (e.g. ``year``)."""
    portal: bool = False
    """Shown on the portal's "my information" page."""

    @property
    def key(self) -> tuple[str, str]:
        """(provider, item)."""
        return (self.provider, self.name)

    def title(self, lang: str) -> str:
        """The title in ``lang`` (``en``, anything else Japanese)."""
        return self.title_en if lang == "en" else self.title_ja


@dataclass(frozen=True)
class EventType:
    """One kind of event published through the hub (shown in the exchange log as its item)."""

    name: str
    title_ja: str
    title_en: str

    def title(self, lang: str) -> str:
        """The title in ``lang`` (``en``, anything else Japanese)."""
        return self.title_en if lang == "en" else self.title_ja


_AMOUNTS_DUE = ("お支払いが必要な金額", "Amounts due")

ITEMS: tuple[Item, ...] = (
    # --- municipality (住民基本台帳) ------------------------------------------------------
    Item(
        "municipality",
        "basic_facts",
        "住民票の基本情報",
        "Resident record",
        (
            "name",
            "name_kana",
            "birth_date",
            "sex",
            "address",
            "resident_type",
            "nationality",
            "residence_status",
            "period_of_stay_until",
            "status",
            "status_date",
        ),
        portal=True,
    ),
    Item(
        "municipality",
        "household",
        "世帯情報",
        "Household",
        (
            "household_id",
            "relationship",
            "is_householder",
            "size",
            "members",
            "birth_year",
            "is_subject",
        ),
        portal=True,
    ),
    Item(
        "municipality",
        "ltc_certification",
        "要介護認定",
        "Long-term care certification",
        ("certified", "level", "needs_care", "certified_on", "valid_from", "valid_until"),
        portal=True,
    ),
    # --- pension (日本年金機構) ------------------------------------------------------------
    Item(
        "pension",
        "pension_record",
        "年金記録",
        "Pension record",
        (
            "basic_pension_number",
            "category",
            "enrolled_on",
            "contribution_months",
            "contributions",
            "fiscal_year",
            "months_paid",
            "months_exempt",
            "amount_paid",
            "exemptions",
            "application_id",
            "level",
            "rejected",
            "claims",
            "claim_id",
            "approved",
            "annual_amount",
            "reason",
            "estimated_annual_amount",
            "merged_records",
            "record_id",
            "period_start",
            "period_end",
            "employer",
            "months",
        ),
        portal=True,
    ),
    Item(
        "pension",
        "candidate_records",
        "あなたのものかもしれない年金記録",
        "Pension records that may be yours",
        ("records", "record_id", "period_start", "period_end", "employer", "months", "status"),
    ),
    Item(
        "pension",
        "amounts_due",
        *_AMOUNTS_DUE,
        ("items", "item_id", "description", "fiscal_year", "amount", "due_date", "total"),
    ),
    # --- tax (税務署) -------------------------------------------------------------------------
    Item(
        "tax",
        "income",
        "所得",
        "Income",
        (
            "year",
            "total_income",
            "taxable_income",
            "employment_income",
            "business_income",
            "social_insurance",
            "assessed",
        ),
        params=("year",),
    ),
    Item(
        "tax",
        "tax_summary",
        "税の情報",
        "Tax summary",
        (
            "reference_number",
            "years",
            "year",
            "assessed",
            "total_income",
            "taxable_income",
            "medical_deduction",
            "tax_total",
            "withholding",
            "paid",
            "due",
            "refundable",
            "refund",
            "amount",
            "status",
        ),
        portal=True,
    ),
    Item(
        "tax",
        "amounts_due",
        *_AMOUNTS_DUE,
        ("items", "item_id", "description", "year", "amount", "due_date", "total"),
    ),
    # --- health (医療保険者) --------------------------------------------------------------
    Item(
        "health",
        "coverage",
        "医療保険の資格",
        "Health insurance coverage",
        (
            "current",
            "periods",
            "status",
            "plan",
            "insurer_number",
            "insured_symbol",
            "insured_number",
            "insured_branch",
            "valid_from",
            "valid_to",
            "copay_percent",
        ),
        portal=True,
    ),
    Item(
        "health",
        "medical_expenses",
        "医療費通知情報",
        "Medical expenses",
        ("year", "total_yen", "visits", "date", "provider", "category", "amount_yen"),
        params=("year",),
        portal=True,
    ),
    Item(
        "health",
        "care_flags",
        "要配慮情報（障害・継続的な医療）",
        "Care needs (disability, ongoing care)",
        ("disability_grade", "chronic_care", "needs_evacuation_assistance"),
    ),
    Item(
        "health",
        "vaccinations",
        "予防接種の記録",
        "Vaccinations",
        ("vaccinations", "vaccine", "name", "dose", "date"),
        portal=True,
    ),
    # --- the portal (マイナポータル) -------------------------------------------------------
    Item(
        "portal",
        "payout_account",
        "公金受取口座",
        "Payout account",
        (
            "bank_code",
            "branch_code",
            "account_type",
            "account_number",
            "holder_kana",
            "registered_at",
            "changed_at",
            "cooling_off_until",
            "confirmed_with_card",
            "confirmed_at",
            "shared_with_others",
        ),
    ),
)
"""Every item, grouped by provider; the portal lists its ``portal`` items in this order."""

EVENT_TYPES: tuple[EventType, ...] = (
    EventType("address_changed", "住所変更の通知", "Address change"),
    EventType("number_reissued", "個人番号の再交付の通知", "Number reissued"),
    EventType("inbox.document", "受信箱への文書", "Document for your inbox"),
    EventType("notice", "お知らせ", "Notice"),
    EventType("application.pension_exemption", "免除申請", "Exemption application"),
    EventType("application.pension_claim", "年金の請求", "Pension claim"),
    EventType("pension_record.decision", "年金記録の確認・否認", "Decision on a pension record"),
    EventType("application.move_out", "転出届", "Move-out notice"),
    EventType("payment", "お支払いの通知", "Payment"),
    EventType("payout_confirmed", "公金受取口座の確認", "Payout account confirmed"),
)
"""Every event type the hub relays."""

BY_KEY: Mapping[tuple[str, str], Item] = MappingProxyType({i.key: i for i in ITEMS})
"""(provider, item) → :class:`Item`."""

EVENTS_BY_NAME: Mapping[str, EventType] = MappingProxyType({e.name: e for e in EVENT_TYPES})
"""event type → :class:`EventType`."""

PORTAL_ITEMS: tuple[Item, ...] = tuple(i for i in ITEMS if i.portal)
"""The items of the portal's "my information" page, in order."""


def item(provider: str, name: str) -> Item | None:
    """The catalogue entry of ``name`` held by ``provider``, or None."""
    return BY_KEY.get((provider, name))


def titles_by_name() -> dict[str, tuple[str, str]]:
    """Item and event names → (Japanese, English) title, as the exchange log shows them.

    Items of the same name at different providers (``amounts_due``) share their titles.
    """
    titles = {i.name: (i.title_ja, i.title_en) for i in ITEMS}
    titles.update({e.name: (e.title_ja, e.title_en) for e in EVENT_TYPES})
    return titles
