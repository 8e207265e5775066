"""Japanese and English texts of the portal pages; ``?lang=`` sets a cookie that sticks."""

from __future__ import annotations

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
    "code": ("ワンタイムコード", "One-time code"),
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
    "proof": ("改ざん検証", "Proof"),
    "verified": ("検証済み", "Verified"),
    "failed": ("検証失敗", "Failed"),
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
    "outcome_provided": ("提供", "Provided"),
    "outcome_delivered": ("通知", "Delivered"),
    "outcome_denied": ("拒否", "Denied"),
    "outcome_failed": ("失敗", "Failed"),
    "municipality": ("市区町村", "Municipality"),
    "pension": ("日本年金機構", "Japan Pension Service"),
    "tax": ("税務署", "Tax office"),
    "health": ("医療保険者", "Health insurer"),
    "portal": ("マイナポータル", "Myna Portal"),
}


def pick_lang(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The page language: ``?lang=``, then the cookie, then Accept-Language, then Japanese."""
    for candidate in (query, cookie):
        if candidate in LANGS:
            return str(candidate)
    if accept and accept.lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


def translator(lang: str) -> dict[str, str]:
    """Key → text in ``lang`` (missing keys show the key itself)."""
    index = LANGS.index(lang) if lang in LANGS else 0
    return {key: pair[index] for key, pair in TEXTS.items()}
