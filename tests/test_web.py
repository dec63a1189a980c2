"""The web pages in a real browser (Playwright driving Debian's Chromium) over real nodes.

Four node processes (FRA, DEU, ITA, the CCF) and one browser start once for the module;
each test opens its own browser context (its own cookies). Waits are Playwright's
auto-waiting assertions and `poll` under a deadline; there are no fixed sleeps.
With NOTICENET_UI_SHOTS=<folder>, the main pages are saved there as PNG files
(`docs/ui/` holds the ones the README shows).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from noticenet.node.ccf.ceremony_files import cmd_commit, cmd_sign
from noticenet.node.demo.cluster import Cluster, poll
from noticenet.node.demo.localnet import MemberRow
from noticenet.protocol.devnet import commission_setup
from noticenet.protocol.identifiers.mrz import compose_mrz

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")

CHROMIUM = "/usr/bin/chromium"  # Debian's package (`make test` installs it where missing)
MEMBERS: tuple[MemberRow, ...] = (
    ("FRA", "member", "France NCB", ()),
    ("DEU", "member", "Germany NCB", ()),
    ("ITA", "member", "Italy NCB", ()),
    ("CCF", "ccf", "Commission for the Control of INTERPOL's Files", ()),
)
SEED = b"web-tests"
SIGNERS = (1, 3, 5)  # three of the five commissioners of the revoke group (3 of 5)
WAIT = 15.0
expect.set_options(timeout=WAIT * 1000)
SHOTS = os.environ.get("NOTICENET_UI_SHOTS", "")
_serial = iter(range(10**6))


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_serial):07d}"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster.create(tmp_path_factory.mktemp("webnet"), MEMBERS, SEED)
    try:
        cluster.start(timeout=90)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="en-GB")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, net: Cluster, member: str, role: str) -> None:
    """Sign in on `member`'s node as its `role` user and land on the home page."""
    node = net[member]
    page.goto(f"{node.url}/")
    expect(page).to_have_url(re.compile(r"/ui/signin$"))
    page.get_by_label("API token").fill(node.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who")).to_contain_text(f"Signed in as {role} ({role}) on member")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def publish_api(net: Cluster, member: str, kind: str, record: dict[str, Any]) -> str:
    answer = net[member].client("issuer").post(f"/records/{kind}", json={"record": record})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def passport(number: str) -> tuple[list[str], str]:
    """A German passport's MRZ lines (TD3), and its second line with the document number's
    check digit wrong."""
    lines = list(
        compose_mrz(
            "TD3",
            document_code="P",
            issuing_state="DEU",
            document_number=number,
            nationality="DEU",
            date_of_birth="800101",
            sex="M",
            date_of_expiry="300101",
            surname="MUSTERMANN",
            given_names="ERIKA",
        )
    )
    bad = lines[1][:9] + str((int(lines[1][9]) + 1) % 10) + lines[1][10:]
    return lines, bad


def propose(page: Page, net: Cluster, action: str, target: str, reason: str, decision: str) -> None:
    """Write a proposal on the CCF's proposals page; the page moves to its ceremony."""
    page.goto(f"{net['CCF'].url}/ui/ccf/proposals")
    page.get_by_label("Action").select_option(action)
    page.get_by_label("Target record ids (64 hex digits, one per line)").fill(target)
    page.get_by_label("Reason (article-2, article-3, inaccurate...)").fill(reason)
    page.get_by_label("Decision reference").fill(decision)
    page.get_by_role("button", name="Write the proposal").click()
    expect(page.locator("#proposal-text")).to_contain_text(target)


def setup_file(work: Path) -> Path:
    """The revoke group's DKG setup (public: it names the commissioners), as `ccf dkg setup`
    wrote it for the network's key generation."""
    setup, _ = commission_setup(SEED, "revoke", 5, 3)
    path = work / "revoke.setup.cbor"
    path.write_bytes(setup.to_bytes())
    return path


def sign_and_publish(page: Page, net: Cluster, work: Path, shots: str = "") -> None:
    """On a ceremony's page: commissioners 1, 3 and 5 run `ccf commit` on their machines and
    upload their commitments (with the group's public package and its setup, which names
    them), then take the others' commitments from the page, run `ccf sign` and upload their
    shares; the page combines them and publishes the entry."""
    keys = net.net.root / "ccf"
    work.mkdir(parents=True, exist_ok=True)
    proposal = work / "proposal.cbor"
    proposal.write_bytes(page.request.get(page.url + "/proposal.cbor").body())
    for i in SIGNERS:
        cmd_commit(proposal, keys / f"revoke-{i}.key", work / f"n{i}", work / f"c{i}.cbor")
    files = page.get_by_label("Commitment, share or public package files")
    files.set_input_files(
        [work / f"c{i}.cbor" for i in SIGNERS] + [keys / "revoke.pub", setup_file(work)]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#committed")).to_contain_text(
        "#1 (commissioner 1) #3 (commissioner 3) #5 (commissioner 5)"
    )
    expect(page.locator("#signed")).to_contain_text("—")
    got = [work / f"got-{i}.cbor" for i in SIGNERS]
    for i, path in zip(SIGNERS, got, strict=True):
        path.write_bytes(page.request.get(f"{page.url}/commitment-{i}.cbor").body())
    for i in SIGNERS:
        cmd_sign(proposal, keys / f"revoke-{i}.key", work / f"n{i}", got, work / f"s{i}.cbor")
    files.set_input_files([work / f"s{i}.cbor" for i in SIGNERS])
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#signed")).to_contain_text("#1 (commissioner 1) #3 (commissioner 3)")
    rows = page.locator("#commissioners tbody tr")
    expect(rows).to_have_count(5)  # the whole group, named, with who took part
    expect(rows.nth(1)).to_contain_text("commissioner 2")
    expect(rows.nth(2)).to_contain_text("✓ yes")
    if shots:
        shot(page, shots)
    page.get_by_role("button", name="Combine and publish").click()


def readable_at(net: Cluster, member: str, eid: str) -> None:
    client = net[member].client("officer")
    poll(f"{eid[:8]} at {member}", lambda: client.get(f"/records/{eid}").status_code == 200, WAIT)


def test_sign_in_per_role_and_a_role_refused(net: Cluster, browser: Browser) -> None:
    for role in ("border", "officer", "issuer", "admin"):
        ctx = browser.new_context(locale="en-GB")
        try:
            page = ctx.new_page()
            sign_in(page, net, "FRA", role)
            nav = page.get_by_role("navigation", name="Home")
            expect(nav.get_by_role("link", name="Border check")).to_be_visible()
            search = nav.get_by_role("link", name="Search persons")
            expect(search).to_have_count(0 if role == "border" else 1)
            cookie = next(c for c in ctx.cookies() if c["name"] == "nn_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert not cookie["secure"]  # plain HTTP on 127.0.0.1
            if role == "border":
                shot(page, "home-border")
                answer = page.goto(f"{net['FRA'].url}/ui/search")
                assert answer is not None and answer.status == 403
                expect(page.get_by_role("alert")).to_contain_text("needs officer")
            if role == "officer":
                answer = page.goto(f"{net['FRA'].url}/ui/publish/red")
                assert answer is not None and answer.status == 403
        finally:
            ctx.close()


def test_pages_need_a_session_and_carry_a_csp(net: Cluster, page: Page) -> None:
    answer = page.goto(f"{net['FRA'].url}/ui/border")
    expect(page).to_have_url(re.compile(r"/ui/signin$"))
    assert answer is not None
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    shot(page, "signin")
    # Behind a proxy that terminates TLS, the session cookie is Secure as well.
    behind_tls = httpx.get(f"{net['FRA'].url}/ui/signin", headers={"x-forwarded-proto": "https"})
    cookie = behind_tls.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    page.get_by_label("API token").fill("nn_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#e-token")).to_contain_text("not known")


def test_border_hit_miss_and_a_mistyped_mrz(net: Cluster, page: Page) -> None:
    number = fresh("W")
    lines, bad = passport(number)
    record = {
        "document_number": number,
        "document_type": "P",
        "issuing_country": "DEU",
        "status": "stolen",
        "mrz": lines,
    }
    readable_at(net, "FRA", publish_api(net, "DEU", "sltd", record))
    sign_in(page, net, "FRA", "border")
    page.goto(f"{net['FRA'].url}/ui/border")
    page.get_by_label("Issuing country (3 letters)").fill("DEU")
    page.get_by_label("Document number").fill(number)
    page.get_by_label("Document number").press("Enter")  # the keyboard alone
    hit = page.locator("#result.hit")
    expect(hit).to_contain_text("HIT")
    expect(hit.locator(".action")).to_contain_text("Seize the document")
    expect(hit.locator(".contact")).to_contain_text("National Central Bureau of DEU")
    expect(hit).to_be_focused()
    shot(page, "border-hit")

    page.get_by_label("Issuing country (3 letters)").fill("DEU")
    page.get_by_label("Document number").fill(fresh("N"))
    page.get_by_label("Document number").press("Enter")
    expect(page.locator("#result.miss")).to_contain_text("NO HIT")
    shot(page, "border-miss")

    mrz = page.get_by_label("MRZ lines (2 or 3 lines, as printed)")
    mrz.fill("\n".join(lines))
    page.locator("form:has(#f-mrz)").get_by_role("button", name="Check").click()
    expect(page.locator("#result.hit")).to_contain_text("HIT")

    page.get_by_label("MRZ lines (2 or 3 lines, as printed)").fill(f"{lines[0]}\n{bad}")
    page.locator("form:has(#f-mrz)").get_by_role("button", name="Check").click()
    expect(page.locator("#check-error")).to_contain_text("field: document number")
    expect(page.locator("#result")).to_have_count(0)


def test_red_notice_with_a_field_error_then_fixed_then_cancelled(
    net: Cluster, page: Page
) -> None:
    name = fresh("LEFEVRE")
    sign_in(page, net, "FRA", "issuer")
    nav = page.get_by_role("navigation", name="Home")
    nav.get_by_role("link", name="Publish a red notice").click()
    page.get_by_label("Family name").fill(name)
    page.get_by_label("Forename").fill("Élodie")
    page.get_by_label("Date of birth (YYYY-MM-DD)").fill("1985-03-04")
    page.get_by_label("Place of birth").fill("x" * 201)
    page.get_by_label("Charge").fill("Fraud")
    page.get_by_label("Country issuing the arrest warrant (3 letters)").fill("FRA")
    page.get_by_role("button", name="Publish").click()
    place = page.get_by_label("Place of birth")
    expect(place).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[id='e-subject.place_of_birth']")).to_contain_text(
        "longer than 200 characters"
    )
    expect(place).to_be_focused()
    expect(page.get_by_label("Family name")).to_have_value(name)  # the form keeps what was typed
    shot(page, "publish-red-error")

    place.fill("Lyon")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#record")).to_contain_text("notice.red")
    expect(page.locator("main")).to_contain_text(name)
    eid = page.url.rsplit("/", 1)[-1]
    shot(page, "record")
    readable_at(net, "DEU", eid)

    page.goto(f"{net['FRA'].url}/ui/mine")
    item = page.locator("li", has=page.locator(f"a[href='/ui/records/{eid}']"))
    shot(page, "mine")
    item.get_by_label("Reason for cancelling").fill("arrested")
    item.get_by_role("button", name="Cancel").click()
    expect(page.locator(".flash")).to_contain_text("is cancelled")
    expect(page.locator(f"a[href='/ui/records/{eid}']")).to_have_count(0)


def test_person_search_forgives_spelling(net: Cluster, page: Page) -> None:
    name = fresh("MÜLLER")
    record = {"subject": {"name": name, "forename": "Jürgen", "date_of_birth": "1970-01-02"}}
    readable_at(net, "FRA", publish_api(net, "DEU", "notice.red", record))
    sign_in(page, net, "FRA", "officer")
    page.goto(f"{net['FRA'].url}/ui/search")
    page.get_by_label("Family name").fill(name.replace("Ü", "ue").lower())
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).to_contain_text("1 record(s) found")
    shot(page, "search")
    page.locator("#results").get_by_role("link", name="Open").click()
    expect(page.locator("#record")).to_contain_text("DEU")


def test_a_post_without_the_csrf_token_is_refused(net: Cluster, page: Page) -> None:
    sign_in(page, net, "FRA", "issuer")
    url = f"{net['FRA'].url}/ui/publish/sltd"
    form = {"document_number": fresh("C"), "document_type": "P", "issuing_country": "FRA"}
    refused = page.request.post(url, form=form, max_redirects=0)
    assert refused.status == 403 and "Form refused" in refused.text()
    wrong = page.request.post(url, form={**form, "csrf": "forged"}, max_redirects=0)
    assert wrong.status == 403
    # With no session cookie at all the node answers 401 before reading the body.
    bare = httpx.post(url, data={**form, "csrf": "x"})
    assert bare.status_code == 401
    # The page's own form, token included, goes through.
    page.goto(url)
    page.get_by_label("Document number").fill(form["document_number"])
    page.get_by_label("Issuing country (3 letters)").fill("FRA")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#record")).to_contain_text("sltd")


def test_sign_out(net: Cluster, page: Page) -> None:
    sign_in(page, net, "FRA", "officer")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/signin$"))
    expect(page.locator(".flash")).to_contain_text("signed out")
    page.goto(f"{net['FRA'].url}/ui/search")
    expect(page).to_have_url(re.compile(r"/ui/signin$"))


def test_french(net: Cluster, page: Page) -> None:
    """French pages say the API's refusals in French (the API's English detail beside)."""
    sign_in(page, net, "FRA", "issuer")
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.goto(f"{net['FRA'].url}/ui/border")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Contrôler un voyageur, un véhicule ou une arme"
    )
    lines, bad = passport(fresh("F"))
    page.get_by_label("Lignes de la ZLA (2 ou 3 lignes, telles qu'imprimées)").fill(
        f"{lines[0]}\n{bad}"
    )
    page.locator("form:has(#f-mrz)").get_by_role("button", name="Contrôler").click()
    expect(page.locator("#check-error")).to_contain_text(
        "La ZLA est erronée dans le champ : numéro du document."
    )
    page.goto(f"{net['FRA'].url}/ui/publish/red")
    page.get_by_label("Nom de famille").fill(fresh("DURAND"))
    page.get_by_label("Lieu de naissance").fill("x" * 201)
    page.get_by_label("Nationalités (codes à 3 lettres, séparés par des espaces)").fill("QQ")
    page.get_by_role("button", name="Publier").click()
    place = page.locator("[id='e-subject.place_of_birth']")
    expect(place).to_contain_text("Trop long : 200 caractères au plus.")
    expect(place.locator(".detail[lang=en]")).to_contain_text("longer than 200 characters")
    expect(page.locator("#form-errors")).to_contain_text("L'enregistrement n'a pas été publié")
    shot(page, "publish-red-error-fr")
    page.get_by_label("Lieu de naissance").fill("Lyon")
    page.get_by_role("button", name="Publier").click()
    expect(page.locator("[id='e-subject.nationalities']")).to_contain_text(
        "Ce n'est pas un code de pays"
    )


def test_a_diffusion_is_read_by_its_recipient_and_not_by_another_member(
    net: Cluster, browser: Browser
) -> None:
    name = fresh("ROSSI")
    ctx = browser.new_context(locale="en-GB")
    try:
        page = ctx.new_page()
        sign_in(page, net, "FRA", "issuer")
        page.get_by_role("navigation", name="Home").get_by_role(
            "link", name="Send a diffusion"
        ).click()
        page.get_by_label("Purpose (locate, arrest, information...)").fill("locate")
        page.get_by_label("Family name").fill(name)
        page.get_by_role("button", name="Publish").click()
        # No member picked: the API's refusal lands beside the picker, what was typed stays.
        expect(page.locator("#e-recipients")).to_contain_text("recipient")
        expect(page.get_by_label("Family name")).to_have_value(name)
        picker = page.get_by_role("group", name="Members who receive it")
        expect(picker.get_by_label("CCF")).to_have_count(0)  # the CCF reads every diffusion
        picker.get_by_label("DEU Germany NCB").check()
        shot(page, "diffusion")
        page.get_by_role("button", name="Publish").click()
        expect(page.locator("#record")).to_contain_text("diffusion")
        eid = page.url.rsplit("/", 1)[-1]
    finally:
        ctx.close()
    readable_at(net, "DEU", eid)
    poll("the diffusion at ITA", lambda: net["ITA"].client().get(f"/status/{eid}").json()[
        "state"] == "live", WAIT)
    for member, readable in (("DEU", True), ("ITA", False)):
        ctx = browser.new_context(locale="en-GB")
        try:
            page = ctx.new_page()
            sign_in(page, net, member, "officer")
            answer = page.goto(f"{net[member].url}/ui/records/{eid}")
            assert answer is not None
            if readable:
                assert answer.status == 200
                expect(page.locator("main")).to_contain_text(name)
                expect(page.locator("main")).to_contain_text("locate")
            else:
                assert answer.status == 404  # ITA holds and relays it, and cannot read it
                expect(page.get_by_role("alert")).to_contain_text("may not read it")
                expect(page.locator("main")).not_to_contain_text(name)
        finally:
            ctx.close()


def test_an_import_shows_its_progress_and_its_refused_rows(net: Cluster, page: Page) -> None:
    numbers = [fresh("I") for _ in range(3)]
    lines = ["document_number,document_type,issuing_country,status"]
    lines += [f"{n},P,FRA,stolen" for n in numbers[:2]]
    lines += [f"{numbers[2]},P,FRA,borrowed"]  # row 3: not a document status
    lines += [f"{numbers[0]},P,FRA,stolen"]  # row 4: the same as row 1
    lines += [f"{fresh('J')},P,FRA,lost" for _ in range(200)]  # three steps of 100 rows
    sign_in(page, net, "FRA", "issuer")
    page.goto(f"{net['FRA'].url}/ui/import")
    page.get_by_label("Kind of record").select_option("sltd")
    page.get_by_label("File format").select_option("csv")
    page.get_by_label("File to import").set_input_files(
        files=[{"name": "sltd.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-bar")).to_have_attribute("max", "204")
    report = page.locator("#import-report")
    expect(report.locator("[data-status=published]")).to_contain_text("202")
    expect(report.locator("[data-status=refused]")).to_contain_text("1")
    expect(report.locator("[data-status=duplicate]")).to_contain_text("1")
    expect(page.locator("#import-bar")).to_have_attribute("value", "204")
    refused = page.locator("#refused tbody tr")
    expect(refused).to_have_count(1)
    expect(refused.locator("td").first).to_have_text("4")  # the file's line 4 (after the header)
    expect(refused).to_contain_text("sltd.status: must be one of")
    shot(page, "import")
    answer = net["FRA"].client("border").get(
        "/check/document", params={"country": "FRA", "number": numbers[1]}
    )
    assert answer.json()["hit"] is True


def test_an_issuer_updates_a_record_and_sees_its_status(net: Cluster, page: Page) -> None:
    number = fresh("U")
    sign_in(page, net, "FRA", "issuer")
    page.goto(f"{net['FRA'].url}/ui/publish/sltd")
    page.get_by_label("Document number").fill(number)
    page.get_by_label("Issuing country (3 letters)").fill("FRA")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#record")).to_contain_text("sltd")
    old = page.url.rsplit("/", 1)[-1]
    page.goto(f"{net['FRA'].url}/ui/mine")
    page.locator("li", has=page.locator(f"a[href='/ui/records/{old}']")).get_by_role(
        "link", name="Update"
    ).click()
    expect(page.get_by_label("Document number")).to_have_value(number)
    page.get_by_label("Issuing country (3 letters)").fill("QQ")
    page.get_by_role("button", name="Publish the new version").click()
    expect(page.get_by_label("Issuing country (3 letters)")).to_have_attribute(
        "aria-invalid", "true"
    )
    page.get_by_label("Issuing country (3 letters)").fill("FRA")
    page.get_by_label("Status").select_option("lost")
    page.get_by_role("button", name="Publish the new version").click()
    expect(page.locator(".flash")).to_contain_text("Updated")
    expect(page.locator("main")).to_contain_text("lost")
    page.goto(f"{net['FRA'].url}/ui/records/{old}/status")
    expect(page.locator("#state")).to_have_text("replaced by an update")


def test_the_ccf_revokes_a_record_and_its_receipts_arrive_then_reentry_is_refused(
    net: Cluster, browser: Browser, tmp_path: Path
) -> None:
    name = fresh("KOWALSKI")
    subject = {"name": name, "forename": "Jan", "date_of_birth": "1969-07-20"}
    red = publish_api(net, "FRA", "notice.red", {"subject": subject})
    readable_at(net, "CCF", red)
    ctx = browser.new_context(locale="en-GB", accept_downloads=True)
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        sign_in(page, net, "CCF", "admin")
        ccf = net["CCF"].url
        # Subject access: the case file holds the notice.
        page.goto(f"{ccf}/ui/ccf/subject-access")
        page.get_by_label("Family name").fill(name)
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#case")).to_contain_text("1 record(s) held on node CCF")
        expect(page.locator("#case")).to_contain_text(red[:16])
        # The proposal, and the exact text every commissioner signs.
        propose(page, net, "revoke", red, "article-3", "CCF/2026/0099")
        text = page.locator("#proposal-text")
        expect(text).to_contain_text("deletes for good the body, indexes and plaintext of")
        expect(text).to_contain_text("needs 3 shares")
        shot(page, "ccf-proposal")
        sign_and_publish(page, net, tmp_path, shots="ccf-ceremony")
        # The status page reloads itself until every node has sent its purge receipt.
        expect(page.locator("#receipts-count")).to_contain_text(
            "4 of 4 nodes have purged it", timeout=60_000
        )
        expect(page.locator("#receipts tr.outstanding")).to_have_count(0)
        shot(page, "ccf-receipts")
        page.goto(f"{ccf}/ui/ccf/revocations")
        expect(page.locator("#revocations tr.complete")).not_to_have_count(0)
    finally:
        ctx.close()
    assert net["FRA"].client("officer").get(f"/records/{red}").status_code == 404
    # Re-entry: the same person again is refused at publish.
    ctx = browser.new_context(locale="en-GB")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        sign_in(page, net, "DEU", "issuer")
        poll("the revocation at DEU", lambda: net["DEU"].client().get(f"/status/{red}").json()[
            "state"] == "revoked", WAIT)
        page.goto(f"{net['DEU'].url}/ui/publish/red")
        page.get_by_label("Family name").fill(name)
        page.get_by_label("Forename").fill("Jan")
        page.get_by_label("Date of birth (YYYY-MM-DD)").fill("1969-07-20")
        page.get_by_role("button", name="Publish").click()
        expect(page.locator("#form-errors")).to_contain_text("re-entry blocked")
        # (A similar spelling is held instead of refused: test_a_similar_name_is_held_...)
    finally:
        ctx.close()


def test_pages_of_the_commission_and_the_admin(net: Cluster, browser: Browser) -> None:
    ctx = browser.new_context(locale="en-GB")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        sign_in(page, net, "FRA", "admin")
        # A member's admin is refused the commission's pages, by the server.
        answer = page.goto(f"{net['FRA'].url}/ui/ccf/proposals")
        assert answer is not None and answer.status == 403
        nav = page.get_by_role("navigation", name="Home")
        expect(nav.get_by_role("link", name="Proposals and ceremonies")).to_have_count(0)
        # Users and roles: a new user's token is shown once and signs in.
        nav.get_by_role("link", name="Users and roles").click()
        user = fresh("clerk").lower()
        page.get_by_label("Name").fill(user)
        page.get_by_label("Role").select_option("border")
        page.get_by_role("button", name="Add a user").click()
        token = page.locator("#new-token code").inner_text()
        assert token.startswith("nn_")
        expect(page.locator("#users")).to_contain_text(user)
        shot(page, "admin-users")
        # The network page counts what /metrics counts.
        nav.get_by_role("link", name="Network").click()
        expect(page.locator("#peers")).to_contain_text("DEU")
        expect(page.locator("#refusals")).to_be_visible()
        shot(page, "admin-network")
    finally:
        ctx.close()
    ctx = browser.new_context(locale="en-GB")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        page.goto(f"{net['FRA'].url}/ui/signin")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#who")).to_contain_text(f"Signed in as {user} (border)")
    finally:
        ctx.close()


UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter(e => e.tagName === 'BUTTON' ? !e.textContent.trim() && !e.getAttribute('aria-label')
                                      : !(e.labels && e.labels.length))
  .map(e => e.name || e.outerHTML.slice(0, 60))"""
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("width", [360, 1280])
def test_every_field_is_labelled_and_pages_fit_a_phone(
    net: Cluster, browser: Browser, width: int
) -> None:
    pages = {
        "FRA": ("/ui/", "/ui/border", "/ui/search", "/ui/publish/sltd", "/ui/publish/red",
                "/ui/publish/diffusion", "/ui/import", "/ui/mine", "/ui/admin/users",
                "/ui/admin/network"),
        "CCF": ("/ui/ccf/subject-access", "/ui/ccf/proposals", "/ui/ccf/held",
                "/ui/ccf/revocations"),
    }
    for member, paths in pages.items():
        ctx = browser.new_context(locale="en-GB", viewport={"width": width, "height": 800})
        ctx.set_default_timeout(WAIT * 1000)
        try:
            page = ctx.new_page()
            sign_in(page, net, member, "admin")
            for path in paths:
                answer = page.goto(f"{net[member].url}{path}")
                assert answer is not None and answer.status == 200, path
                assert page.evaluate(UNLABELLED) == [], path
                assert page.evaluate(OVERFLOW) <= 0, (path, width)
                # the keyboard reaches the page's first control, and it shows focus
                page.keyboard.press("Tab")
                outline = page.evaluate(
                    "getComputedStyle(document.activeElement).outlineStyle"
                )
                assert outline != "none", path
            nav = page.get_by_role("navigation", name="Home")
            publishing = nav.get_by_role("link", name="Report a document")
            expect(publishing).to_have_count(0 if member == "CCF" else 1)  # the CCF issues none
            if width == 360 and member == "FRA":
                page.goto(f"{net[member].url}/ui/border")
                shot(page, "border-phone")
        finally:
            ctx.close()


def test_without_javascript_the_pages_still_work(net: Cluster, browser: Browser) -> None:
    """The script is progressive help only: a border check posts as a page, an import
    advances with its Continue button."""
    number = fresh("S")
    record = {
        "document_number": number,
        "document_type": "P",
        "issuing_country": "DEU",
        "status": "stolen",
    }
    readable_at(net, "FRA", publish_api(net, "DEU", "sltd", record))
    ctx = browser.new_context(locale="en-GB", java_script_enabled=False)
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        sign_in(page, net, "FRA", "issuer")
        page.goto(f"{net['FRA'].url}/ui/border")
        page.get_by_label("Issuing country (3 letters)").fill("DEU")
        page.get_by_label("Document number").fill(number)
        with page.expect_navigation():
            page.get_by_label("Document number").press("Enter")
        expect(page.locator("#result.hit")).to_contain_text("HIT")
        page.goto(f"{net['FRA'].url}/ui/import")
        page.get_by_label("File format").select_option("jsonl")
        rows = [
            f'{{"document_number": "{fresh("K")}", "document_type": "P", '
            f'"issuing_country": "FRA", "status": "lost"}}'
            for _ in range(150)
        ]
        page.get_by_label("File to import").set_input_files(
            files=[{"name": "rows.jsonl", "mimeType": "text/plain",
                    "buffer": "\n".join(rows).encode()}]
        )
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.locator("#import-count")).to_have_text("0 of 150 rows done.")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#import-count")).to_have_text("100 of 150 rows done.")
        expect(page.locator("#import-bar")).to_have_attribute("value", "100")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#import-report [data-status=published]")).to_contain_text("150")
        expect(page.get_by_role("button", name="Continue")).to_have_count(0)
    finally:
        ctx.close()


def test_a_similar_name_is_held_then_released_and_another_revoked(
    net: Cluster, browser: Browser, tmp_path: Path
) -> None:
    """The CCF revokes Yusuf Nguyen's notice through the pages. DEU re-enters him exactly
    (refused, said in French), then as 'Ngyuen' (held: its author is told so, unmistakably,
    and nobody sees it); FRA imports 'Josef Nguyen' born that year (the report shows the row
    held). The CCF's queue lists both with the revocation they met; the commission releases
    the first through a ceremony (then FRA's pages find it) and revokes the second."""
    subject = {"name": "Nguyen", "forename": "Yusuf", "date_of_birth": "1961-05-17"}
    red = publish_api(net, "FRA", "notice.red", {"subject": subject})
    readable_at(net, "CCF", red)
    ccf_ctx = browser.new_context(locale="en-GB")
    ccf_ctx.set_default_timeout(WAIT * 1000)
    ccf = ccf_ctx.new_page()
    try:
        sign_in(ccf, net, "CCF", "admin")
        propose(ccf, net, "revoke", red, "article-3", "CCF/2026/0101")
        sign_and_publish(ccf, net, tmp_path / "revoke")
        expect(ccf.locator("#receipts-count")).to_contain_text("4 of 4", timeout=60_000)
        for member in ("DEU", "FRA"):
            poll(f"the revocation at {member}", lambda m=member: net[m].client().get(
                f"/status/{red}").json()["state"] == "revoked", WAIT)

        kept = held_publish(net, browser)
        gone = held_import(net, browser)
        for eid in (kept, gone):
            for member in ("FRA", "DEU", "ITA", "CCF"):
                poll(f"{eid[:8]} held at {member}", lambda m=member, e=eid: net[m].client(
                    "officer").get(f"/status/{e}").json()["state"] == "held", WAIT)
            assert net["ITA"].client("officer").get(f"/records/{eid}").status_code == 404

        # The CCF's review queue: each held record, the guard it met, the revocation behind.
        ccf.get_by_role("navigation", name="Home").get_by_role(
            "link", name="Held records"
        ).click()
        for eid, name in ((kept, "Ngyuen"), (gone, "Josef")):
            item = ccf.locator(f"#held-{eid[:16]}")
            expect(item).to_contain_text(name)
            expect(item.locator(".revocation")).to_contain_text(
                f"Revocation {red_revocation(net, red)[:16]}: reason article-3, "
                "decision CCF/2026/0101"
            )
            expect(item.locator(".revocation")).to_contain_text(red[:16])
        shot(ccf, "ccf-held")
        # Release the first: the proposal says so, three commissioners sign it.
        item = ccf.locator(f"#held-{kept[:16]}")
        item.get_by_label("Decision reference").fill("CCF/2026/0102")
        item.get_by_role("button", name="Propose release").click()
        expect(ccf.get_by_role("heading", level=1)).to_contain_text("Release")
        expect(ccf.locator("#proposal-text")).to_contain_text(kept)
        # The block group's setup is refused here: it would name the wrong commissioners.
        ceremony, wrong = ccf.url, tmp_path / "block.setup.cbor"
        wrong.write_bytes(commission_setup(SEED, "block", 5, 2)[0].to_bytes())
        ccf.get_by_label("Commitment, share or public package files").set_input_files([wrong])
        ccf.get_by_role("button", name="Upload").click()
        expect(ccf.locator("#e-files")).to_contain_text("for another group key")
        ccf.goto(ceremony)
        sign_and_publish(ccf, net, tmp_path / "release")
        expect(ccf.locator(".flash")).to_contain_text("Released")
        expect(ccf.locator("#state")).to_have_text("live")
        # Revoke the second.
        ccf.goto(f"{net['CCF'].url}/ui/ccf/held")
        item = ccf.locator(f"#held-{gone[:16]}")
        item.get_by_label("Reason (article-2, article-3, inaccurate...)").select_option(
            "article-3"
        )
        item.get_by_label("Decision reference").fill("CCF/2026/0103")
        item.get_by_role("button", name="Propose revocation").click()
        expect(ccf.locator("#proposal-text")).to_contain_text(gone)
        sign_and_publish(ccf, net, tmp_path / "revoke-held")
        expect(ccf.locator("#receipts-count")).to_contain_text("4 of 4", timeout=60_000)
        ccf.goto(f"{net['CCF'].url}/ui/ccf/held")
        expect(ccf.locator(f"#held-{kept[:16]}")).to_have_count(0)
        expect(ccf.locator(f"#held-{gone[:16]}")).to_have_count(0)
    finally:
        ccf_ctx.close()
    # Released: readable on every member's node, and FRA's officer finds it; revoked: gone.
    for member in ("FRA", "DEU", "ITA"):
        readable_at(net, member, kept)
    ctx = browser.new_context(locale="en-GB")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        sign_in(page, net, "FRA", "officer")
        page.goto(f"{net['FRA'].url}/ui/search")
        page.get_by_label("Family name").fill("Ngyuen")
        page.get_by_label("Forename").fill("Yusuf")
        page.get_by_role("button", name="Search").click()
        expect(page.locator(f"#results a[href='/ui/records/{kept}']")).to_have_count(1)
        expect(page.locator(f"#results a[href='/ui/records/{gone}']")).to_have_count(0)
    finally:
        ctx.close()
    for member in ("FRA", "DEU", "ITA"):
        poll(f"{gone[:8]} revoked at {member}", lambda m=member: net[m].client().get(
            f"/status/{gone}").json()["state"] == "revoked", WAIT)


def red_revocation(net: Cluster, red: str) -> str:
    """The id of the CCF revocation that deleted `red`."""
    return str(net["CCF"].client("officer").get(f"/status/{red}").json()["ccf"]["by"])


def held_publish(net: Cluster, browser: Browser) -> str:
    """DEU's issuer: the revoked person exactly (refused, in French), then a typo of his
    name (held); its author sees it held on its status page, its record page and in 'my
    records', another member finds nothing; an update to a similar spelling is held too.
    Returns the first held record's id."""
    ctx = browser.new_context(locale="en-GB")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        sign_in(page, net, "DEU", "issuer")
        page.get_by_role("link", name="Français").click()
        page.goto(f"{net['DEU'].url}/ui/publish/red")
        page.get_by_label("Nom de famille").fill("NGUYEN")
        page.get_by_label("Prénom").fill("Yusuf")
        page.get_by_label("Date de naissance (AAAA-MM-JJ)").fill("1961-05-17")
        page.get_by_role("button", name="Publier").click()
        expect(page.locator("#form-errors")).to_contain_text("ré-inscription bloquée")
        expect(page.locator("#form-errors .detail[lang=en]")).to_contain_text("re-entry blocked")
        page.get_by_role("link", name="English").click()
        page.goto(f"{net['DEU'].url}/ui/publish/red")
        page.get_by_label("Family name").fill("Ngyuen")
        page.get_by_label("Forename").fill("Yusuf")
        page.get_by_label("Date of birth (YYYY-MM-DD)").fill("1961-05-17")
        page.get_by_role("button", name="Publish").click()
        expect(page).to_have_url(re.compile(r"/ui/records/[0-9a-f]{64}/status$"))
        eid = page.url.rsplit("/", 2)[-2]
        banner = page.locator("#held.banner.held")
        expect(banner).to_contain_text("HELD FOR THE COMMISSION'S REVIEW")
        expect(banner).to_contain_text("visible to no one")
        expect(page.locator(".flash")).to_contain_text("not visible to anyone yet")
        expect(page.locator("#state")).to_have_text("held for the commission's review")
        shot(page, "held")
        answer = page.goto(f"{net['DEU'].url}/ui/records/{eid}")
        assert answer is not None and answer.status == 200
        expect(page.locator("#held")).to_contain_text("HELD")
        expect(page.locator("main")).not_to_contain_text("1961-05-17")  # the body stays hidden
        page.goto(f"{net['DEU'].url}/ui/mine")
        expect(page.locator(f"#mine-held a[href='/ui/records/{eid}']")).to_have_count(1)
        # An update to a similar spelling ('one letter more') is held as well, and says so.
        other = {"name": fresh("SCHMIDT"), "forename": "Yusuf", "date_of_birth": "1961-05-17"}
        old = publish_api(net, "DEU", "notice.red", {"subject": other})
        page.goto(f"{net['DEU'].url}/ui/records/{old}/edit")
        page.get_by_label("Family name").fill("Nguyent")
        page.get_by_role("button", name="Publish the new version").click()
        expect(page).to_have_url(re.compile(r"/ui/records/[0-9a-f]{64}/status$"))
        expect(page.locator(".flash")).to_contain_text("is held for the commission's review")
        expect(page.locator("#held")).to_contain_text("HELD FOR THE COMMISSION'S REVIEW")
    finally:
        ctx.close()
    ctx = browser.new_context(locale="en-GB")
    try:
        page = ctx.new_page()
        sign_in(page, net, "FRA", "officer")
        answer = page.goto(f"{net['FRA'].url}/ui/records/{eid}")
        assert answer is not None and answer.status == 404
        expect(page.locator("main")).not_to_contain_text("HELD")
    finally:
        ctx.close()
    return eid


def held_import(net: Cluster, browser: Browser) -> str:
    """FRA imports 'Josef Nguyen' born in 1961 among other rows: the report counts the row
    held and lists it. Returns its id."""
    rows = [
        '{"subject": {"name": "Nguyen", "forename": "Josef", "date_of_birth": "1961"}}',
        f'{{"subject": {{"name": "{fresh("BERNARD")}", "forename": "Luc"}}}}',
    ]
    ctx = browser.new_context(locale="en-GB")
    ctx.set_default_timeout(WAIT * 1000)
    try:
        page = ctx.new_page()
        sign_in(page, net, "FRA", "issuer")
        page.goto(f"{net['FRA'].url}/ui/import")
        page.get_by_label("Kind of record").select_option("notice.red")
        page.get_by_label("File format").select_option("jsonl")
        page.get_by_label("File to import").set_input_files(
            files=[{"name": "red.jsonl", "mimeType": "text/plain",
                    "buffer": "\n".join(rows).encode()}]
        )
        page.get_by_role("button", name="Import", exact=True).click()
        report = page.locator("#import-report")
        expect(report.locator("[data-status=held]")).to_contain_text("Held for review: 1")
        expect(report.locator("[data-status=published]")).to_contain_text("1")
        held = page.locator("#held-rows tbody tr")
        expect(held).to_have_count(1)
        expect(held.locator("td").first).to_have_text("1")
        shot(page, "import-held")
        href = held.locator("a").get_attribute("href")
        assert href is not None
        return href.split("/")[3]
    finally:
        ctx.close()
