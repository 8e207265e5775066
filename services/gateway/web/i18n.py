"""Japanese and English texts of the portal pages; ``?lang=`` sets a cookie that sticks.

Besides the page texts (:data:`TEXTS`) this is the label catalogue of what agencies hold:
every field of every item (:data:`FIELDS`, keyed ``item.field`` or just ``field``), the
values of coded fields (:data:`VALUES`, keyed ``item.field=value`` or ``field=value``), how a
field is formatted (:data:`KINDS`: yen, dates, fiscal years, months, ...), and the exchange
log's procedures and outcomes. Item and event titles (:data:`ITEMS`) and the order an item's
fields are shown in (:data:`ORDER`) come from the item catalogue, :mod:`mynumber_core.items`.
An unknown field or value falls back to a readable form of its key (``insured_symbol`` →
"Insured symbol"), never to a blank.

One module of about 800 lines on purpose: some 510 of them are the translation tables
themselves (:data:`TEXTS`, :data:`FIELDS`, :data:`VALUES`, :data:`KINDS`, :data:`PROCEDURES`,
...), data rather than logic, kept beside the ~180 lines of language negotiation and
formatting that read them so a label and its use are found in one place.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from babel import Locale

from mynumber_core import items
from mynumber_core.calendar import JST

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"

TEXTS: dict[str, tuple[str, str]] = {
    "site": ("マイナポータル", "Myna Portal"),
    "skip": ("本文へ移動", "Skip to main content"),
    "nav": ("メインメニュー", "Main menu"),
    "lang_switch": ("English", "日本語"),
    "lang_label": ("Language / 言語", "言語 / Language"),
    "logout": ("ログアウト", "Log out"),
    "login": ("ログイン", "Log in"),
    "login_title": ("マイナンバーカードでログイン", "Log in with your My Number Card"),
    "login_intro": (
        "次のワンタイムコードを、マイナンバーカードのアプリで承認してください。",
        "Approve this one-time code with your My Number Card app.",
    ),
    "login_command": ("端末で実行するコマンド", "Command to run in a terminal"),
    "login_waiting": ("承認を待っています…", "Waiting for your approval…"),
    "login_expired": (
        "コードの有効期限が切れました。新しいコードを表示します。",
        "The code expired. Showing a new one.",
    ),
    "login_note": (
        "このコードを他人に教えないでください。職員がコードを尋ねることはありません。",
        "Never give this code to anyone. Staff will never ask you for it.",
    ),
    "passkey_login_heading": ("パスキーでログイン", "Log in with a passkey"),
    "passkey_login": ("パスキーでログイン", "Log in with a passkey"),
    "passkey_heading": ("パスキー", "Passkey"),
    "passkey_intro": (
        "この端末にパスキーを登録すると、次回からカードなしでポータルを開けます。"
        "情報の閲覧や手続きには引き続きマイナンバーカードが必要です。",
        "Register a passkey on this device to open the portal without your card next time. "
        "Reading your information and any procedure still need your My Number Card.",
    ),
    "passkey_register": ("パスキーを登録", "Register a passkey"),
    "passkey_registered": ("パスキーを登録しました。", "Your passkey is registered."),
    "passkey_failed": ("パスキーを使えませんでした。", "The passkey could not be used."),
    "code": ("ワンタイムコード", "One-time code"),
    "match_number": (
        "承認する端末で入力する番号（この画面にだけ表示されます）",
        "Number to type on the approving device (shown on this screen only)",
    ),
    "expires": ("有効期限", "Expires"),
    "me": ("わたしの情報", "My information"),
    "log": ("やりとり履歴", "Exchange log"),
    "notices": ("お知らせ", "Notices"),
    "inbox": ("受信箱", "Inbox"),
    "payments": ("お支払い", "Payments"),
    "payout": ("公金受取口座", "Payout account"),
    "applications": ("申請", "Applications"),
    "locks": ("ロック", "Locks"),
    "businesses": ("民間送達サービス", "Business delivery"),
    "pension_records": ("年金記録の確認", "Pension records"),
    "pension_records_intro": (
        "持ち主のわからない年金記録のうち、あなたのものかもしれない記録です。記録の期間・事業所"
        "（または市区町村）・納付月数だけを表示しています。マイナンバーカードで承認して、"
        "ご自分の記録かどうかをお知らせください。",
        "Pension records nobody could be found for that may be yours. Only the period, the "
        "employer (or municipality) and the months paid are shown. Tell us with your My Number "
        "Card whether each is yours.",
    ),
    "record_confirm": ("自分の記録です", "This is my record"),
    "record_reject": ("自分の記録ではありません", "This is not my record"),
    "record_status_notified": ("確認待ち", "Waiting for your decision"),
    "record_status_confirmed": ("統合済み", "Merged into your record"),
    "record_status_rejected": ("あなたの記録ではないと回答済み", "You said it is not yours"),
    "no_pension_records": (
        "確認が必要な年金記録はありません。",
        "No pension records are waiting for you.",
    ),
    "record_number": ("記録番号", "Record number"),
    "record_months": ("納付月数", "Months paid"),
    "record_period": ("期間", "Period"),
    "record_employer": ("事業所・市区町村", "Employer or municipality"),
    "no_record": ("記録はありません", "No record"),
    "denied": ("取得が許可されていません", "Not permitted"),
    "unavailable": ("現在取得できません", "Not available right now"),
    "from_agency": ("提供元", "Held by"),
    "log_entry": ("履歴番号", "Log entry"),
    "agency": ("機関", "Agency"),
    "all": ("すべて", "All"),
    "period_from": ("開始日", "From"),
    "period_to": ("終了日", "To"),
    "filter": ("絞り込む", "Filter"),
    "time": ("日時", "Time"),
    "requester": ("照会元", "Requester"),
    "provider": ("提供元", "Provider"),
    "item": ("情報", "Item"),
    "procedure": ("事務手続", "Procedure"),
    "outcome": ("結果", "Outcome"),
    "proof": ("改ざん検証", "Integrity proof"),
    "reason": ("理由", "Reason"),
    "outcome_help": (
        "「結果」は照会そのものの結果、「改ざん検証」は記録が書き換えられていないことの証明です。",
        "“Outcome” is what happened to the exchange itself; “Integrity proof” shows the record "
        "was not rewritten afterwards.",
    ),
    "verified": ("検証済み", "Verified"),
    "failed": ("検証できません", "Proof failed"),
    "proof_failed": ("検証できません", "Proof failed"),
    "proof_pending": ("取り込み待ち", "Pending inclusion"),
    "proof_pending_help": (
        "「取り込み待ち」の記録は記録済みで、次の署名付きチェックポイント（通常 1 秒以内）に"
        "含まれると検証済みになります。",
        "“Pending inclusion” entries are recorded; they show as verified once the next signed "
        "checkpoint (usually within a second) covers them.",
    ),
    "device_check": ("この端末での検証", "Checked on this device"),
    "device_checking": (
        "この端末で検証しています…（JavaScript が必要です）",
        "Checking on this device… (needs JavaScript)",
    ),
    "checkpoint_failed": (
        "チェックポイントの署名を検証できません",
        "The checkpoint signature could not be verified",
    ),
    "checkpoint": ("署名付きチェックポイント", "Signed checkpoint"),
    "entries": ("件", "entries"),
    "log_intro": (
        "あなたの情報を、いつ、どの機関が、何のために照会・提供したかの記録です。各記録が"
        "改ざんされていないことをこの画面で検証しています。",
        "Who asked whom for which of your data, when and why. Each entry's proof that the "
        "record was not rewritten is verified for this page.",
    ),
    "no_entries": ("該当する履歴はありません。", "No entries match."),
    "unread": ("未読", "Unread"),
    "read": ("既読", "Read"),
    "received": ("受信日時", "Received"),
    "sender": ("差出人", "From"),
    "title": ("件名", "Subject"),
    "empty_inbox": ("受信箱は空です。", "Your inbox is empty."),
    "empty_notices": ("お知らせはありません。", "No notices."),
    "back_inbox": ("受信箱に戻る", "Back to the inbox"),
    "due": ("お支払いが必要なもの", "Amounts due"),
    "nothing_due": ("現在お支払いが必要なものはありません。", "Nothing is due."),
    "description": ("内容", "Description"),
    "amount": ("金額", "Amount"),
    "due_date": ("納期限", "Due date"),
    "pay": ("支払う", "Pay"),
    "history": ("履歴", "History"),
    "paid_at": ("支払日時", "Paid"),
    "no_payments": ("お支払いの履歴はありません。", "No payments yet."),
    "bank_code": ("金融機関コード（4桁）", "Bank code (4 digits)"),
    "branch_code": ("支店コード（3桁）", "Branch code (3 digits)"),
    "account_type": ("預金種目", "Account type"),
    "ordinary": ("普通", "Ordinary"),
    "checking": ("当座", "Checking"),
    "savings": ("貯蓄", "Savings"),
    "account_number": ("口座番号（7桁）", "Account number (7 digits)"),
    "holder_kana": ("口座名義（カタカナ）", "Account holder (katakana)"),
    "register": ("登録する", "Register"),
    "current_account": ("登録中の口座", "Registered account"),
    "no_account": ("口座は登録されていません。", "No account registered."),
    "cooling_off": ("変更直後の振込保留期間の終了", "Payouts held until"),
    "shared_flag": (
        "この口座は他の方も登録しています。確認が行われます。",
        "Someone else registered this account too; it will be checked.",
    ),
    "payout_intro": (
        "給付金・還付金の受取に使う、あなた名義の口座です。名義は住民票のフリガナと照合します。",
        "The account in your own name for benefits and refunds. The holder name is checked "
        "against the reading (フリガナ) of your registered name.",
    ),
    "exemption": ("国民年金保険料の免除申請", "National pension contribution exemption"),
    "fiscal_year": ("年度", "Fiscal year"),
    "apply": ("申請する", "Apply"),
    "move_out": ("転出届（オンライン）", "Online move-out notice"),
    "destination": ("転出先の住所", "Destination address"),
    "planned_date": ("転出予定日", "Planned move date"),
    "submitted": ("申請日時", "Submitted"),
    "kind": ("種類", "Type"),
    "no_applications": ("申請の履歴はありません。", "No applications yet."),
    "decision_note": (
        "審査結果は受信箱に届きます。",
        "The decision arrives in your inbox.",
    ),
    "locks_intro": (
        "不正利用を防ぐため、次の操作を止めることができます。",
        "To prevent misuse you can block the following.",
    ),
    "lock_protect_claims": (
        "還付金・年金給付の請求を止める",
        "Block refund and benefit claims",
    ),
    "lock_block_online_changes": (
        "オンラインでの変更（口座・転出届）を止める",
        "Block online changes (account, move-out notice)",
    ),
    "lock_block_exchanges": (
        "機関間の情報照会を止める",
        "Block exchanges between agencies",
    ),
    "save": ("保存する", "Save"),
    "stepup_title": ("マイナンバーカードで承認", "Approve with your My Number Card"),
    "stepup_intro": (
        "この操作には、マイナンバーカードによる承認が必要です。次のコマンドを実行してください。",
        "This action needs your My Number Card's approval. Run this command:",
    ),
    "stepup_done": ("承認されました。処理しています…", "Approved. Submitting…"),
    "done": ("完了しました。", "Done."),
    "error": ("エラー", "Error"),
    "grant": ("送達を許可する", "Allow delivery"),
    "grants": ("許可済みの事業者", "Businesses you allowed"),
    "revoke": ("許可を取り消す", "Withdraw"),
    "delivery_token": (
        "事業者に渡す送達トークン（一度だけ表示）",
        "Delivery token for the business (shown once)",
    ),
    "business": ("事業者", "Business"),
    "deliveries": ("送達数", "Deliveries"),
    "no_businesses": ("登録事業者はありません。", "No registered businesses."),
    "status": ("状態", "Status"),
    "session_expires": ("セッションの有効期限", "Session expires"),
    "yen": ("円", " yen"),
    "outcome_provided": ("提供済み", "Provided"),
    "outcome_delivered": ("通知済み", "Delivered"),
    "outcome_denied": ("照会を拒否", "Refused"),
    "outcome_failed": ("照会失敗", "Exchange failed"),
    "outcome_unknown": ("不明", "Unknown"),
    "footer": (
        "マイナポータル（デモ環境）— 表示される情報はすべて架空のものです。",
        "Myna Portal (demo) — every person and figure shown is fictitious.",
    ),
    "data_nav": ("この画面の情報", "On this page"),
    "none": ("なし", "None"),
    "cancel": ("取り消す", "Cancel"),
    "yes": ("はい", "Yes"),
    "no": ("いいえ", "No"),
    "records": ("件", "records"),
    "my_role": ("あなたの操作による照会", "Caused by your visit"),
    "municipality": ("市区町村", "Municipality"),
    "pension": ("日本年金機構", "Japan Pension Service"),
    "tax": ("税務署", "Tax office"),
    "health": ("医療保険者", "Health insurer"),
    "portal": ("マイナポータル", "Myna Portal"),
}


# One element of Accept-Language (RFC 9110 §12.5.4): a language range and an optional weight.
_ACCEPT_ITEM = re.compile(
    r"\s*(?P<range>\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)\s*"
    r"(?:;\s*q\s*=\s*(?P<q>0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?\s*",
    re.ASCII,
)


def language_ranges(header: str) -> list[tuple[str, float]]:
    """(range, weight) of each well-formed element of an Accept-Language header, in order;
    malformed elements are left out."""
    ranges = []
    for element in header.split(","):
        match = _ACCEPT_ITEM.fullmatch(element)
        if match is not None and element.strip():
            ranges.append((match["range"], float(match["q"]) if match["q"] else 1.0))
    return ranges


def negotiate(header: str | None) -> str:
    """The best of :data:`LANGS` for an Accept-Language header, else Japanese.

    Ranges are tried by weight, highest first (equal weights in the header's order; ``q=0``
    means "not this one"); Babel matches each against :data:`LANGS` (``en-GB`` → English).
    ``*`` stands for any language the header does not name. ``fr,en;q=0.8`` → English."""
    ranges = language_ranges(header or "")
    named = {language.split("-")[0].lower() for language, _ in ranges}
    by_weight = sorted(
        ((-weight, position, language) for position, (language, weight) in enumerate(ranges)),
    )
    for negative_weight, _, language in by_weight:
        if negative_weight == 0:
            break
        if language == "*":
            unnamed = [lang for lang in (DEFAULT_LANG, *LANGS) if lang not in named]
            if unnamed:
                return unnamed[0]
            continue
        best = Locale.negotiate([language], LANGS, sep="-")
        if best is not None:
            return str(best)
    return DEFAULT_LANG


def pick_lang(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The page language: ``?lang=``, then the cookie, then Accept-Language, then Japanese."""
    for candidate in (query, cookie):
        if candidate in LANGS:
            return str(candidate)
    return negotiate(accept)


def translator(lang: str) -> dict[str, str]:
    """Key → text in ``lang`` (missing keys show the key itself)."""
    index = LANGS.index(lang) if lang in LANGS else 0
    return {key: pair[index] for key, pair in TEXTS.items()}


# --- the label catalogue of what agencies hold -------------------------------------------

Pair = tuple[str, str]

FIELDS: dict[str, Pair] = {
    # municipality: basic_facts
    "name": ("氏名", "Name"),
    "name_kana": ("フリガナ", "Name (katakana reading)"),
    "birth_date": ("生年月日", "Date of birth"),
    "sex": ("性別", "Sex"),
    "address": ("住所", "Address"),
    "resident_type": ("住民の種別", "Resident type"),
    "basic_facts.status": ("住民票の状態", "Registration status"),
    "status_date": ("状態の異動日", "Status changed on"),
    "nationality": ("国籍・地域", "Nationality or region"),
    "residence_status": ("在留資格", "Status of residence"),
    "period_of_stay_until": ("在留期間の満了日", "Period of stay ends"),
    # municipality: household
    "household_id": ("世帯番号", "Household number"),
    "size": ("世帯人数", "Household size"),
    "relationship": ("続柄", "Relationship to the householder"),
    "is_householder": ("世帯主である", "You are the householder"),
    "members": ("世帯員", "Household members"),
    "birth_year": ("生まれ年", "Year of birth"),
    "is_subject": ("ご本人", "You"),
    # municipality: ltc_certification
    "certified": ("要介護・要支援認定", "Care certification"),
    "level": ("区分", "Level"),
    "needs_care": ("要介護（要支援ではない）", "Needs care (not only support)"),
    "certified_on": ("認定日", "Certified on"),
    "ltc_certification.valid_from": ("有効期間の開始日", "Valid from"),
    "ltc_certification.valid_until": ("有効期間の終了日", "Valid until"),
    # pension: pension_record
    "basic_pension_number": ("基礎年金番号", "Basic pension number"),
    "pension_record.category": ("被保険者の種別", "Insured category"),
    "enrolled_on": ("資格取得日", "Enrolled on"),
    "contribution_months": ("保険料納付済期間", "Contributions paid"),
    "contributions": ("年度別の納付状況", "Contributions by fiscal year"),
    "fiscal_year": ("年度", "Fiscal year"),
    "months_paid": ("納付月数", "Months paid"),
    "months_exempt": ("免除月数", "Months exempted"),
    "amount_paid": ("納付額", "Amount paid"),
    "exemptions": ("保険料免除の申請", "Exemption applications"),
    "application_id": ("申請番号", "Application number"),
    "pension_record.level": ("免除の区分", "Exemption level"),
    "rejected": ("審査結果", "Decision"),
    "reason": ("理由", "Reason"),
    "claims": ("年金の請求", "Pension claims"),
    "claim_id": ("請求番号", "Claim number"),
    "approved": ("審査結果", "Decision"),
    "annual_amount": ("年金額（年額）", "Annual amount"),
    "estimated_annual_amount": ("老齢基礎年金の見込額（年額）", "Estimated old-age pension a year"),
    "merged_records": ("統合された年金記録", "Pension records merged into yours"),
    "record_id": ("記録番号", "Record number"),
    "period_start": ("期間（開始）", "Period from"),
    "period_end": ("期間（終了）", "Period to"),
    "employer": ("事業所・市区町村", "Employer or municipality"),
    "pension_record.months": ("納付月数", "Months paid"),
    # tax: tax_summary, income, amounts_due
    "reference_number": ("整理番号", "Taxpayer reference number"),
    "years": ("年分ごとの状況", "By tax year"),
    "year": ("年分", "Tax year"),
    "total_income": ("合計所得金額", "Total income"),
    "employment_income": ("給与所得", "Employment income"),
    "business_income": ("事業所得", "Business income"),
    "social_insurance": ("社会保険料", "Social insurance paid"),
    "withholding": ("源泉徴収税額", "Tax withheld"),
    "paid": ("納付済みの税額", "Tax paid"),
    "assessed": ("確定申告", "Assessment"),
    "taxable_income": ("課税所得金額", "Taxable income"),
    "tax_total": ("年税額", "Tax for the year"),
    "medical_deduction": ("医療費控除", "Medical-expense deduction"),
    "due": ("納付すべき税額", "Tax still to pay"),
    "refundable": ("還付される税額", "Refund due"),
    "refund": ("還付金", "Refund"),
    "amount": ("金額", "Amount"),
    "tax_summary.status": ("状況", "Status"),
    "items": ("明細", "Items"),
    "item_id": ("番号", "Reference"),
    "description": ("内容", "Description"),
    "due_date": ("納期限", "Due date"),
    "total": ("合計", "Total"),
    # health: coverage
    "current": ("現在の資格", "Current coverage"),
    "periods": ("資格の履歴", "Coverage history"),
    "coverage.status": ("資格の状態", "Status"),
    "plan": ("保険の種類", "Insurance plan"),
    "insurer_number": ("保険者番号", "Insurer number"),
    "insured_symbol": ("記号", "Card symbol"),
    "insured_number": ("番号", "Insured person's number"),
    "insured_branch": ("枝番", "Branch number"),
    "valid_from": ("資格取得日", "Covered from"),
    "valid_to": ("資格喪失日", "Covered until"),
    "copay_percent": ("窓口負担割合", "Co-payment at the counter"),
    # health: medical_expenses
    "medical_expenses.year": ("対象年", "Year"),
    "total_yen": ("医療費の合計", "Total medical costs"),
    "visits": ("受診の明細", "Visits"),
    "date": ("日付", "Date"),
    "medical_expenses.date": ("受診日", "Date of visit"),
    "provider": ("医療機関・薬局", "Clinic or pharmacy"),
    "amount_yen": ("医療費", "Medical cost"),
    "category": ("区分", "Type"),
    # health: vaccinations, care_flags
    "vaccinations": ("接種記録", "Vaccination record"),
    "vaccine": ("ワクチン", "Vaccine"),
    "vaccinations.name": ("名称", "Name"),
    "dose": ("回数", "Dose"),
    "vaccinations.date": ("接種日", "Date given"),
    "disability_grade": ("障害等級", "Disability grade"),
    "chronic_care": ("継続的な医療", "Ongoing medical care"),
    "needs_evacuation_assistance": ("避難時の支援", "Needs help to evacuate"),
    # the portal's own records (applications)
    "destination_address": ("転出先の住所", "Destination address"),
    "planned_date": ("転出予定日", "Planned move date"),
}
"""Field labels: ``item.field`` first (a field whose meaning depends on the item), then
``field``."""

VALUES: dict[str, Pair] = {
    "sex=male": ("男", "Male"),
    "sex=female": ("女", "Female"),
    "resident_type=citizen": ("日本人住民", "Japanese national"),
    "resident_type=foreign": ("外国人住民", "Foreign resident"),
    "basic_facts.status=resident": ("住民登録あり", "Registered resident"),
    "basic_facts.status=moved_out": ("転出済み", "Moved out"),
    "basic_facts.status=deceased": ("死亡", "Deceased"),
    "basic_facts.status_date=None": ("—", "—"),
    "relationship=世帯主": ("世帯主", "Householder"),
    "relationship=妻": ("妻", "Wife"),
    "relationship=夫": ("夫", "Husband"),
    "relationship=妻(未届)": ("妻（未届）", "Partner (unregistered)"),
    "relationship=夫(未届)": ("夫（未届）", "Partner (unregistered)"),
    "relationship=子": ("子", "Child"),
    "relationship=父": ("父", "Father"),
    "relationship=母": ("母", "Mother"),
    "relationship=孫": ("孫", "Grandchild"),
    "relationship=祖父": ("祖父", "Grandfather"),
    "relationship=祖母": ("祖母", "Grandmother"),
    "relationship=兄": ("兄", "Older brother"),
    "relationship=姉": ("姉", "Older sister"),
    "relationship=弟": ("弟", "Younger brother"),
    "relationship=妹": ("妹", "Younger sister"),
    "relationship=同居人": ("同居人", "Lodger"),
    "relationship=縁故者": ("縁故者", "Relative by connection"),
    "is_subject=true": ("ご本人", "You"),
    "is_subject=false": ("", ""),
    "certified=true": ("認定あり", "Certified"),
    "certified=false": ("認定はありません", "Not certified"),
    "pension_record.category=1": (
        "第1号被保険者（自営業・学生など）",
        "Category 1 (self-employed, students and others)",
    ),
    "pension_record.category=2": (
        "第2号被保険者（会社員・公務員）",
        "Category 2 (employees and civil servants)",
    ),
    "pension_record.category=3": (
        "第3号被保険者（第2号被保険者の配偶者）",
        "Category 3 (dependent spouse of a category 2 insured person)",
    ),
    "pension_record.level=full": ("全額免除", "Full exemption"),
    "pension_record.level=three_quarters": ("4分の3免除", "Three-quarters exemption"),
    "pension_record.level=half": ("半額免除", "Half exemption"),
    "pension_record.level=quarter": ("4分の1免除", "Quarter exemption"),
    "rejected=true": ("却下", "Rejected"),
    "rejected=false": ("承認", "Approved"),
    "approved=true": ("支給決定", "Approved"),
    "approved=false": ("不支給", "Not approved"),
    "assessed=true": ("確定済み", "Assessed"),
    "assessed=false": ("未確定", "Not yet assessed"),
    "tax_summary.status=released": ("振込済み", "Paid out"),
    "tax_summary.status=held": ("保留中（確認待ち）", "On hold (being checked)"),
    "coverage.status=active": ("有効", "Active"),
    "coverage.status=lapsed": ("喪失", "Ended"),
    "coverage.status=pending": ("開始前", "Not started yet"),
    "plan=national_health_insurance": ("国民健康保険", "National Health Insurance"),
    "plan=kyokai_kenpo": ("全国健康保険協会（協会けんぽ）", "Kyokai Kenpo (employees' plan)"),
    "plan=late_elderly": ("後期高齢者医療制度", "Late-stage elderly medical care"),
    "valid_to=None": ("定めなし", "No end date"),
    "current=None": (
        "現在加入している医療保険はありません",
        "No health insurance coverage today",
    ),
    "category=outpatient": ("外来", "Outpatient"),
    "category=inpatient": ("入院", "Inpatient"),
    "category=dental": ("歯科", "Dental"),
    "category=pharmacy": ("調剤薬局", "Pharmacy"),
    "category=home_nursing": ("訪問看護", "Home nursing"),
    "vaccine=bcg": ("BCG", "BCG (tuberculosis)"),
    "vaccine=covid19": ("新型コロナワクチン", "COVID-19"),
    "vaccine=dpt_ipv": ("五種混合・四種混合", "DTaP-IPV(-Hib) combined"),
    "vaccine=hepatitis_b": ("B型肝炎", "Hepatitis B"),
    "vaccine=herpes_zoster": ("帯状疱疹", "Shingles (herpes zoster)"),
    "vaccine=hib": ("ヒブ", "Hib"),
    "vaccine=hpv": ("HPV（子宮頸がん予防）", "HPV"),
    "vaccine=influenza": ("インフルエンザ", "Influenza"),
    "vaccine=japanese_encephalitis": ("日本脳炎", "Japanese encephalitis"),
    "vaccine=measles_rubella": ("麻しん風しん混合（MR）", "Measles-rubella (MR)"),
    "vaccine=mumps": ("おたふくかぜ", "Mumps"),
    "vaccine=pneumococcal": ("肺炎球菌", "Pneumococcal"),
    "vaccine=rotavirus": ("ロタウイルス", "Rotavirus"),
    "vaccine=rsv": ("RSウイルス", "RSV"),
    "vaccine=varicella": ("水痘", "Chickenpox (varicella)"),
    "chronic_care=dialysis": ("人工透析", "Dialysis"),
    "chronic_care=oxygen_therapy": ("在宅酸素療法", "Home oxygen therapy"),
    "chronic_care=ventilator": ("人工呼吸器", "Ventilator"),
    "chronic_care=insulin": ("インスリン療法", "Insulin therapy"),
    "chronic_care=intractable_disease": ("指定難病", "Designated intractable disease"),
    "disability_grade=0": ("なし", "None"),
}
"""Value labels of coded fields: ``item.field=value`` first, then ``field=value``; booleans
are ``true``/``false``, a null is ``None``."""

KINDS: dict[str, str] = {
    **dict.fromkeys(
        [
            "amount_paid",
            "total_income",
            "employment_income",
            "business_income",
            "social_insurance",
            "withholding",
            "paid",
            "taxable_income",
            "tax_total",
            "medical_deduction",
            "due",
            "refundable",
            "amount",
            "total",
            "amount_yen",
            "total_yen",
            "annual_amount",
            "estimated_annual_amount",
        ],
        "yen",
    ),
    **dict.fromkeys(
        [
            "birth_date",
            "status_date",
            "enrolled_on",
            "valid_from",
            "valid_to",
            "certified_on",
            "valid_until",
            "period_of_stay_until",
            "due_date",
            "date",
            "planned_date",
        ],
        "date",
    ),
    "fiscal_year": "fiscal_year",
    "year": "tax_year",
    "medical_expenses.year": "year",
    "birth_year": "year",
    **dict.fromkeys(
        ["contribution_months", "months_paid", "months_exempt", "pension_record.months"], "months"
    ),
    "copay_percent": "copay",
    "size": "people",
    "dose": "dose",
    "disability_grade": "grade",
    **dict.fromkeys(
        [
            "household_id",
            "insurer_number",
            "insured_number",
            "insured_branch",
            "insured_symbol",
            "basic_pension_number",
            "reference_number",
            "claim_id",
            "application_id",
            "item_id",
        ],
        "code",
    ),
}
"""How a field's value is shown (anything else: a label from :data:`VALUES`, or the text)."""

ORDER: dict[str, tuple[str, ...]] = {i.name: i.fields for i in items.PORTAL_ITEMS}
"""The order a resident reads an item's fields in; unknown fields follow, in their order."""

HIDDEN_WHEN_LABELLED: dict[str, str] = {"vaccinations.name": "vaccine"}
"""``item.field`` → a sibling field: the field repeats the sibling's catalogue label, so it
is left out when the sibling's value has one."""

ITEMS: dict[str, Pair] = items.titles_by_name()
"""Items and event types as the exchange log names them (from :mod:`mynumber_core.items`)."""

PROCEDURES: dict[str, Pair] = {
    "portal.my_information": ("マイナポータルでの閲覧", "Viewed on the portal"),
    "portal.payments": ("マイナポータルでのお支払い", "Payment on the portal"),
    "pension.exemption": ("国民年金保険料の免除審査", "Pension contribution exemption"),
    "pension.claim": ("年金の請求", "Pension claim"),
    "pension.notice": ("年金のお知らせ", "Pension notice"),
    "pension.record_reconciliation": ("年金記録の照合", "Pension record reconciliation"),
    "tax.medical_deduction": ("医療費控除", "Medical-expense deduction"),
    "tax.refund": ("還付金の支払", "Tax refund"),
    "tax.withholding": ("源泉徴収票の交付", "Withholding slip"),
    "health.premium": ("保険料の算定", "Health insurance premium"),
    "health.vaccination": ("予防接種のお知らせ", "Vaccination notice"),
    "disaster.support_list": ("避難行動要支援者名簿の作成", "Disaster: residents needing help"),
    "disaster.victim_support": ("被災者生活再建支援", "Disaster: victim support"),
    "municipality.moving_onestop": ("引越しワンストップ", "Moving one-stop"),
    "municipality.number_reissue": ("個人番号の再交付", "My Number reissue"),
    "municipality.ltc": ("要介護認定のお知らせ", "Long-term care notice"),
}
"""Procedures of the access-rights table (services/registry/access_rights.toml)."""

AGENCY_NAMES: dict[str, Pair] = {
    key: TEXTS[key] for key in ("municipality", "pension", "tax", "health", "portal")
}

_REASONS: tuple[tuple[re.Pattern[str], Pair], ...] = (
    (
        re.compile(r"^(?P<agency>\w+) holds no record of this person$"),
        ("{agency}にあなたの記録がありませんでした", "{agency} holds no record of you"),
    ),
    (
        re.compile(r"^the resident has locked inter-agency exchanges"),
        (
            "あなたが設定したロック（機関間の情報照会を止める）により拒否されました",
            "Refused because of your lock on exchanges between agencies",
        ),
    ),
    (
        re.compile(r"^the resident has locked refunds and claims"),
        (
            "あなたが設定したロック（還付金・年金給付の請求を止める）により拒否されました",
            "Refused because of your lock on refunds and claims",
        ),
    ),
    (
        re.compile(r"^the access-rights table does not allow"),
        (
            "法令で認められていない照会のため拒否されました",
            "Refused: the law does not allow this exchange",
        ),
    ),
)


def _index(lang: str) -> int:
    return LANGS.index(lang) if lang in LANGS else 0


def humanize(key: str) -> str:
    """A readable form of an unknown key: ``insured_symbol`` → "Insured symbol"."""
    words = re.sub(r"[_.\-]+", " ", key).strip()
    return words[:1].upper() + words[1:] if words else "—"


def field_label(lang: str, item: str, field: str) -> str:
    """The label of ``field`` of ``item``."""
    pair = FIELDS.get(f"{item}.{field}") or FIELDS.get(field)
    return pair[_index(lang)] if pair else humanize(field)


def value_key(value: Any) -> str:
    """How a value is written in :data:`VALUES` keys."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def value_label(lang: str, item: str, field: str, value: Any) -> str | None:
    """The catalogue label of a coded value, or None when it has none."""
    key = value_key(value)
    pair = VALUES.get(f"{item}.{field}={key}") or VALUES.get(f"{field}={key}")
    return pair[_index(lang)] if pair else None


def kind_of(item: str, field: str) -> str:
    """How ``field`` of ``item`` is formatted (``text`` when the catalogue does not say)."""
    return KINDS.get(f"{item}.{field}") or KINDS.get(field) or "text"


def format_yen(value: Any, lang: str) -> str:
    """¥1,234 in English, 1,234円 in Japanese."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = int(str(value))
        except ValueError:
            return str(value)
    amount = f"{int(value):,}"
    if lang == "en":
        return f"-¥{amount[1:]}" if amount.startswith("-") else f"¥{amount}"
    return f"{amount}円"


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def format_date(value: Any, lang: str) -> str:
    """2026年5月18日 in Japanese, 18 May 2026 in English (anything unparsable as is)."""
    day = _as_date(value)
    if day is None:
        return str(value) if value not in (None, "") else "—"
    if lang == "en":
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def as_jst(value: Any) -> dt.datetime | None:
    """A timestamp (aware, naive UTC or ISO text) in Japan time."""
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    else:
        try:
            stamp = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(JST)


def format_datetime(value: Any, lang: str) -> str:
    """2026年11月26日 13:33 in Japanese, 26 Nov 2026, 13:33 JST in English."""
    stamp = as_jst(value)
    if stamp is None:
        return str(value)
    clock = stamp.strftime("%H:%M")
    if lang == "en":
        return f"{stamp.day} {_MONTHS[stamp.month - 1]} {stamp.year}, {clock} JST"
    return f"{stamp.year}年{stamp.month}月{stamp.day}日 {clock}"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value)
    return None


def format_value(lang: str, item: str, field: str, value: Any) -> str:
    """A scalar value of ``field`` of ``item`` as a resident reads it."""
    label = value_label(lang, item, field, value)
    if label is not None:
        return label
    if value is None or value == "":
        return "—"
    en = lang == "en"
    if isinstance(value, bool):
        return TEXTS["yes" if value else "no"][_index(lang)]
    kind = kind_of(item, field)
    number = _int(value)
    if kind == "yen":
        return format_yen(value, lang)
    if kind == "date":
        return format_date(value, lang)
    if number is not None:
        if kind == "fiscal_year":
            return f"FY{number}" if en else f"{number}年度"
        if kind == "tax_year":
            return str(number) if en else f"{number}年分"
        if kind == "year":
            return str(number) if en else f"{number}年"
        if kind == "months":
            return f"{number} month{'s' if number != 1 else ''}" if en else f"{number}か月"
        if kind == "copay":
            return f"{number}%" if en else f"{number // 10}割（{number}%）"
        if kind == "people":
            return f"{number} {'person' if number == 1 else 'people'}" if en else f"{number}人"
        if kind == "dose":
            return f"Dose {number}" if en else f"{number}回目"
        if kind == "grade":
            return f"Grade {number}" if en else f"{number}級"
    if kind == "text" and isinstance(value, str) and re.fullmatch(r"要(介護|支援)\d", value):
        return ("Care level " if "介護" in value else "Support level ") + value[-1] if en else value
    return str(value)


def item_label(lang: str, item: str) -> str:
    """An exchange-log item or event type."""
    pair = ITEMS.get(item)
    return pair[_index(lang)] if pair else humanize(item)


def procedure_label(lang: str, procedure: str) -> str:
    """A procedure of the access-rights table."""
    pair = PROCEDURES.get(procedure)
    return pair[_index(lang)] if pair else procedure


def agency_label(lang: str, agency: str) -> str:
    """An agency (token domain)."""
    pair = AGENCY_NAMES.get(agency)
    return pair[_index(lang)] if pair else humanize(agency)


def outcome_label(lang: str, outcome: str) -> str:
    """What happened to the exchange itself (never its proof)."""
    pair = TEXTS.get(f"outcome_{outcome}") or TEXTS["outcome_unknown"]
    return pair[_index(lang)]


def reason_label(lang: str, reason: str) -> tuple[str, bool]:
    """The registry's reason in the page language, and whether it was translated."""
    for pattern, pair in _REASONS:
        match = pattern.match(reason)
        if match:
            agency = match.groupdict().get("agency")
            return pair[_index(lang)].format(agency=agency_label(lang, agency or "")), True
    return reason, lang == "en"
