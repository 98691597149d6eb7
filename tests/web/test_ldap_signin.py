"""LDAP sign-in against a real slapd (started here, own config and TLS certificate)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from radguard.db.models.web import AuditEvent, User, WebSession
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.web.app import create_app
from radguard.web.identity.ldap import (
    DirectoryUnreachable,
    IdentityConfig,
    LdapConfig,
    LdapSignInRefused,
    authenticate,
    load_identity_config,
)
from tests.support.ports import free_port
from tests.support.slapd import SUFFIX, Slapd, running_slapd
from tests.web.conftest import PASSWORD

SECURITY = f"cn=Imaging-Security,ou=groups,{SUFFIX}"
STAFF = f"cn=Imaging-Staff,ou=groups,{SUFFIX}"
USERS = {"alice": "alice-long-password", "bob": "bob-long-password", "carol": "carol-long-password"}


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with running_slapd(tmp_path_factory.mktemp("slapd") / "d", USERS) as server:
        server.ldapmodify(
            f"dn: {SECURITY}\nchangetype: add\nobjectClass: groupOfNames\ncn: Imaging-Security\n"
            f"member: cn=admin,{SUFFIX}\nmember: uid=alice,ou=people,{SUFFIX}\n\n"
            f"dn: {STAFF}\nchangetype: add\nobjectClass: groupOfNames\ncn: Imaging-Staff\n"
            f"member: uid=alice,ou=people,{SUFFIX}\nmember: uid=bob,ou=people,{SUFFIX}\n"
            f"member: uid=carol,ou=people,{SUFFIX}\n\n"
            f"dn: uid=carol,ou=people,{SUFFIX}\nchangetype: modify\nreplace: employeeType\n"
            "employeeType: locked\n"
        )
        yield server


def _config(slapd: Slapd, **overrides: object) -> LdapConfig:
    values: dict[str, object] = {
        "url": f"ldaps://127.0.0.1:{slapd.ldaps_port}",
        "ca_file": slapd.ca_file,
        "user_base": f"ou=people,{SUFFIX}",
        "group_base": f"ou=groups,{SUFFIX}",
        "locked_filter": "(employeeType=locked)",
        "group_roles": {SECURITY: "assessor", STAFF: "viewer"},
    }
    values.update(overrides)
    return LdapConfig.model_validate(values)


def test_good_password_over_ldaps_gets_highest_mapped_role(slapd: Slapd) -> None:
    who = authenticate(_config(slapd), "alice", USERS["alice"])
    assert who.dn == f"uid=alice,ou=people,{SUFFIX}"
    assert who.role == "assessor"
    assert authenticate(_config(slapd), "bob", USERS["bob"]).role == "viewer"


def test_starttls_works_and_wrong_password_is_refused(slapd: Slapd) -> None:
    config = _config(slapd, url=f"ldap://127.0.0.1:{slapd.ldap_port}", start_tls=True)
    assert authenticate(config, "bob", USERS["bob"]).role == "viewer"
    with pytest.raises(LdapSignInRefused) as refused:
        authenticate(config, "bob", "not-bobs-password")
    assert "invalidCredentials" in refused.value.reason


def test_locked_account_is_refused_even_with_the_right_password(slapd: Slapd) -> None:
    with pytest.raises(LdapSignInRefused, match="refused"):
        authenticate(_config(slapd), "carol", USERS["carol"])
    # the same entry without the lock filter would pass: the refusal is the lock, not the password
    assert authenticate(_config(slapd, locked_filter=None), "carol", USERS["carol"]).role == "viewer"


def test_role_is_recomputed_at_each_sign_in(slapd: Slapd) -> None:
    assert authenticate(_config(slapd), "alice", USERS["alice"]).role == "assessor"
    slapd.ldapmodify(f"dn: {SECURITY}\nchangetype: modify\ndelete: member\n"
                     f"member: uid=alice,ou=people,{SUFFIX}\n")
    try:
        assert authenticate(_config(slapd), "alice", USERS["alice"]).role == "viewer"
    finally:
        slapd.ldapmodify(f"dn: {SECURITY}\nchangetype: modify\nadd: member\n"
                         f"member: uid=alice,ou=people,{SUFFIX}\n")


@pytest.mark.parametrize("name", ["*", "alice)(uid=*", "*)(|(uid=*", "al*", "alice\\2a", "bob)(&", ""])
def test_injection_attempts_are_refused(slapd: Slapd, name: str) -> None:
    with pytest.raises(LdapSignInRefused):
        authenticate(_config(slapd), name, USERS["alice"])


def test_unreachable_directory_says_so(slapd: Slapd) -> None:
    config = _config(slapd, url=f"ldaps://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(DirectoryUnreachable, match="unreachable"):
        authenticate(config, "alice", USERS["alice"])


def test_untrusted_certificate_is_not_accepted(slapd: Slapd, tmp_path: Path) -> None:
    with pytest.raises(DirectoryUnreachable):
        authenticate(_config(slapd, ca_file=None), "alice", USERS["alice"])


def test_plain_ldap_needs_explicit_permission(slapd: Slapd) -> None:
    with pytest.raises(ValueError, match="allow_plain_ldap"):
        _config(slapd, url=f"ldap://127.0.0.1:{slapd.ldap_port}", start_tls=False)
    lab = _config(slapd, url=f"ldap://127.0.0.1:{slapd.ldap_port}", start_tls=False, allow_plain_ldap=True)
    assert authenticate(lab, "bob", USERS["bob"]).role == "viewer"


def test_identity_file_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "identity.yaml"
    path.write_text("ldap:\n  url: ldaps://dc1:636\n  user_base: ou=people\n  group_base: ou=groups\n"
                    "  group_roles:\n    cn=x: superuser\n")
    with pytest.raises(InputError) as err:
        load_identity_config(path)
    assert str(path) in str(err.value) and err.value.field == "ldap.group_roles.cn=x"
    path.write_text("ldap: [\n")
    with pytest.raises(InputError, match="line"):
        load_identity_config(path)


# --- through the web sign-in form -------------------------------------------------------------


def _post_login(client: TestClient, username: str, password: str) -> Response:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)},
                       follow_redirects=False)


def _app(web_db: Database, config: LdapConfig) -> FastAPI:
    return create_app(web_db, identity=IdentityConfig(ldap=config))


def _audit(web_db: Database, action: str) -> list[dict[str, object] | None]:
    """The details of the audit events named ``action``, oldest first."""
    with web_db.read() as s:
        return [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                            .order_by(AuditEvent.id))]


def test_web_sign_in_through_the_directory_and_role_follows_groups(slapd: Slapd, web_db: Database) -> None:
    app = _app(web_db, _config(slapd))
    with TestClient(app, base_url="https://testserver") as c:
        assert _post_login(c, "alice", USERS["alice"]).status_code == 303
        page = c.get("/", headers={"accept": "text/html"})
        # the directory keeps the password: no local "Change password" link for this account
        assert page.status_code == 200 and "alice (assessor)" in page.text and "/account/password" not in page.text
    with web_db.read() as s:
        assert s.scalar(select(User.role).where(User.username == "alice")) == "assessor"
    slapd.ldapmodify(f"dn: {SECURITY}\nchangetype: modify\ndelete: member\nmember: uid=alice,ou=people,{SUFFIX}\n")
    try:
        with TestClient(app, base_url="https://testserver") as c:
            assert _post_login(c, "alice", USERS["alice"]).status_code == 303
    finally:
        slapd.ldapmodify(f"dn: {SECURITY}\nchangetype: modify\nadd: member\nmember: uid=alice,ou=people,{SUFFIX}\n")
    with web_db.read() as s:
        assert s.scalar(select(User.role).where(User.username == "alice")) == "viewer"
        # the sessions say how they signed in (radguard user sessions)
        assert set(s.scalars(select(WebSession.method).join(User).where(User.username == "alice"))) == {"ldap"}
    logins = _audit(web_db, "login")
    assert logins[-1] == {"source": "ldap", "role": "viewer", "previous_role": "assessor"}
    with TestClient(app, base_url="https://testserver") as c:
        assert _post_login(c, "alice", "wrong-password-here").status_code == 401
        assert _post_login(c, "carol", USERS["carol"]).status_code == 401  # locked in the directory
    failed = _audit(web_db, "login.failed")
    assert [f["username"] for f in failed[-2:] if f] == ["alice", "carol"]


def test_directory_down_says_so_and_local_break_glass_still_works(slapd: Slapd, web_db: Database,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    app = _app(web_db, _config(slapd, url=f"ldaps://127.0.0.1:{free_port()}", timeout=2))
    with TestClient(app, base_url="https://testserver") as c:
        r = _post_login(c, "alice", USERS["alice"])
        assert r.status_code == 503 and "directory cannot be reached" in r.text
        with caplog.at_level(logging.WARNING, logger="radguard.web.auth"):
            assert _post_login(c, "admin", PASSWORD).status_code == 303  # the local admin account
        assert "break-glass sign-in with local account admin" in caplog.text
    assert _audit(web_db, "login.directory_unreachable")
    assert _audit(web_db, "login")[-1] == {"break_glass": True}


def test_a_directory_account_cannot_sign_in_with_a_local_password(slapd: Slapd, web_db: Database) -> None:
    """Once alice came from the directory, an outage does not let anything but the directory vouch for her."""
    app = _app(web_db, _config(slapd))
    with TestClient(app, base_url="https://testserver") as c:
        assert _post_login(c, "alice", USERS["alice"]).status_code == 303
    local_only = create_app(web_db)  # no directory configured: the local password path
    with TestClient(local_only, base_url="https://testserver") as c:
        assert _post_login(c, "alice", USERS["alice"]).status_code == 401
