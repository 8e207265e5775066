"""One title per item: the access-rights table, "My information" and the exchange log agree.

Every item and event type the registry's access-rights table names has an entry in the item
catalogue (``mynumber_core.items``); the registry refuses to load a table naming one that has
not. On the real pages of a running portal (SQLite and PostgreSQL), each item of "My
information" carries the same title, in Japanese and in English, as the exchange-log entry
that fetched it; items the portal does not show are titled from the catalogue in the log too.
"""

from __future__ import annotations

import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mynumber_core import items
from services.gateway.web import i18n
from services.registry.domain import AccessRights
from tests.integration.gateway.portal_env import PortalEnv

TABLE = Path(__file__).parents[3] / "services" / "registry" / "access_rights.toml"


def _table() -> dict[str, list[dict[str, object]]]:
    return tomllib.loads(TABLE.read_text(encoding="utf-8"))


class _Titles(HTMLParser):
    """Item → title on a page: the <h2> of each "My information" section, and the item cell
    (the fifth) of each exchange-log row."""

    def __init__(self) -> None:
        super().__init__()
        self.me: dict[str, str] = {}
        self.log: dict[str, set[str]] = {}
        self._section: str | None = None
        self._in_h2 = False
        self._row: str | None = None
        self._cell = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and "data-item" in a and "card" in (a.get("class") or ""):
            self._section = a["data-item"]
        elif tag == "h2" and self._section is not None:
            self._in_h2, self._text = True, []
        elif tag == "tr" and "data-item" in a:
            self._row, self._cell = a["data-item"], 0
        elif tag == "td" and self._row is not None:
            self._cell += 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._in_h2 and self._section is not None:
            self.me[self._section] = "".join(self._text).strip()
            self._in_h2, self._section = False, None
        elif tag == "td" and self._row is not None and self._cell == 5:
            self.log.setdefault(self._row, set()).add("".join(self._text).strip())
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def _titles(html: str) -> _Titles:
    parser = _Titles()
    parser.feed(html)
    return parser


def test_every_item_and_event_of_the_table_is_catalogued() -> None:
    table = _table()
    queries = {(str(r["provider"]), str(r["item"])) for r in table["query"]}
    events = {str(r["event_type"]) for r in table["publish"]}
    assert queries and events
    assert sorted(queries - set(items.BY_KEY)) == []
    assert sorted(events - set(items.EVENTS_BY_NAME)) == []
    for key in queries:
        entry = items.BY_KEY[key]
        assert entry.title_ja and entry.title_en and entry.fields, key
    # every portal item is one the portal may fetch under portal.my_information
    mine = {
        (str(r["provider"]), str(r["item"]))
        for r in table["query"]
        if r["requester"] == "portal" and r["procedure"] == "portal.my_information"
    }
    assert {i.key for i in items.PORTAL_ITEMS} == mine


def test_items_of_one_name_share_their_titles() -> None:
    by_name: dict[str, set[tuple[str, str]]] = {}
    for entry in items.ITEMS:
        by_name.setdefault(entry.name, set()).add((entry.title_ja, entry.title_en))
    assert {name: titles for name, titles in by_name.items() if len(titles) > 1} == {}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_log_titles_every_item_and_event_from_the_catalogue(lang: str) -> None:
    table = _table()
    for row in table["query"]:
        entry = items.BY_KEY[(str(row["provider"]), str(row["item"]))]
        assert i18n.item_label(lang, entry.name) == entry.title(lang)
    for row in table["publish"]:
        event = items.EVENTS_BY_NAME[str(row["event_type"])]
        assert i18n.item_label(lang, event.name) == event.title(lang)


def test_the_registry_refuses_a_table_naming_an_uncatalogued_item(tmp_path: Path) -> None:
    bad = tmp_path / "access_rights.toml"
    bad.write_text(
        '[[query]]\nrequester = "pension"\nprovider = "tax"\nitem = "shoe_size"\n'
        'procedure = "pension.exemption"\n',
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError, match=r"query row 1 names item 'shoe_size' of 'tax'"):
        AccessRights.load(bad)
    bad.write_text(
        '[[publish]]\npublisher = "tax"\nevent_type = "gossip"\naudience = ["portal"]\n'
        'procedure = "tax.refund"\n',
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError, match=r"publish row 1 names event type 'gossip'"):
        AccessRights.load(bad)
    assert AccessRights.load(TABLE).query_rules()


def test_my_information_and_the_log_show_the_same_title(env: PortalEnv) -> None:
    resident = env.make_resident()
    client = env.login(resident)
    for lang in ("ja", "en"):
        me = client.get(f"/me?lang={lang}")
        assert me.status_code == 200
        shown = _titles(me.text).me
        assert shown == {i.name: i.title(lang) for i in items.PORTAL_ITEMS}, lang
        log = client.get(f"/log?lang={lang}")
        assert log.status_code == 200
        logged = _titles(log.text).log
        for name, title in shown.items():
            assert logged.get(name) == {title}, (lang, name)
    client.close()
