"""LDAP / Active Directory sign-in: bind as the user, map directory groups to radguard roles.

Why it is built this way: the hospital's directory is the source of truth for who works in
imaging security, so the role is recomputed from group membership at *every* sign-in (a user
removed from the group loses the role next time). The password is checked by binding as the
user, never by reading a hash. Transport is LDAPS or StartTLS; plain LDAP only when the
configuration says ``allow_plain_ldap: true`` (a lab). The user name goes into the search
filter only through ``escape_filter_chars``, and names with filter or DN metacharacters are
refused outright, so ``*)(uid=*`` cannot widen the search.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ldap3
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radguard.db.models.web import ROLES
from radguard.errors import InputError, RadguardError
from radguard.textfiles import parse_yaml_nodes, read_text, validation_input_error
from radguard.web.identity.oidc import OidcConfig

# Letters, digits and the punctuation real account names use (AD sAMAccountName, UPNs).
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


class DirectoryUnreachable(RadguardError):
    """The directory did not answer; local break-glass accounts still sign in."""


class LdapSignInRefused(RadguardError):
    """Wrong password, unknown user, locked account or no mapped group (reason is logged only)."""

    def __init__(self, reason: str) -> None:
        super().__init__("sign-in refused")
        self.reason = reason


class LdapConfig(BaseModel):
    """The ``ldap:`` section of the identity file (``radguard serve --identity FILE.yaml``).

    :param url: ``ldaps://dc1.hospital.local:636`` or ``ldap://…:389`` (then StartTLS).
    :param start_tls: upgrade an ``ldap://`` connection with StartTLS (default true).
    :param allow_plain_ldap: permit an unencrypted ``ldap://`` bind — labs only.
    :param ca_file: PEM file of the CA that signed the directory's certificate.
    :param bind_dn / bind_password: service account used to find the user's DN (optional;
        anonymous search otherwise).
    :param user_base / user_filter: where and how to find the user; ``{username}`` is replaced
        by the escaped name. AD: ``(&(objectClass=user)(sAMAccountName={username}))``.
    :param group_base: where groups live; membership is read with ``(member=<user DN>)``.
    :param locked_filter: an entry matching it is refused. AD disabled/locked:
        ``(userAccountControl:1.2.840.113556.1.4.803:=2)``.
    :param group_roles: group DN → radguard role; the highest mapped role wins.
    :param timeout: seconds before the directory counts as unreachable.
    """

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^ldaps?://")
    start_tls: bool = True
    allow_plain_ldap: bool = False
    ca_file: Path | None = None
    bind_dn: str | None = None
    bind_password: str | None = None
    user_base: str
    user_filter: str = "(uid={username})"
    group_base: str
    locked_filter: str | None = None
    group_roles: dict[str, Literal["viewer", "contributor", "assessor", "admin"]]
    timeout: int = Field(default=5, gt=0, le=60)

    @model_validator(mode="after")
    def _transport(self) -> LdapConfig:
        if self.url.startswith("ldap://") and not self.start_tls and not self.allow_plain_ldap:
            raise ValueError("url: ldap:// without start_tls sends passwords in clear; use ldaps://, "
                             "start_tls: true, or allow_plain_ldap: true for a lab")
        if "{username}" not in self.user_filter:
            raise ValueError("user_filter: must contain {username}")
        if not self.group_roles:
            raise ValueError("group_roles: map at least one group DN to a role")
        return self


class IdentityConfig(BaseModel):
    """The whole identity file; sections for other sources join this model."""

    model_config = ConfigDict(extra="forbid")
    ldap: LdapConfig | None = None
    oidc: OidcConfig | None = None


def load_identity_config(path: Path) -> IdentityConfig:
    """Read and validate the identity YAML; errors name the file and the field."""
    # The strict reader (radguard.textfiles): a binary or Latin-1 file, a NUL, a billion-laughs
    # file or one of 64 MiB is an InputError naming the line, not a UnicodeDecodeError traceback.
    raw, node = parse_yaml_nodes(read_text(path), str(path))
    if not isinstance(raw, dict):
        raise InputError(str(path), None, None, "expected a mapping with an `ldap:` and/or `oidc:` section")
    try:
        return IdentityConfig.model_validate(raw)
    except ValidationError as exc:
        raise validation_input_error(str(path), node, exc) from None


@dataclass(frozen=True)
class LdapIdentity:
    """Who the directory says signed in, and the role their groups give them now."""

    username: str
    dn: str
    role: str
    groups: tuple[str, ...]


def _server(config: LdapConfig) -> ldap3.Server:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                    ca_certs_file=str(config.ca_file) if config.ca_file else None)
    return ldap3.Server(config.url, use_ssl=config.url.startswith("ldaps://"), tls=tls,
                        connect_timeout=config.timeout, get_info=ldap3.NONE)


def _connect(config: LdapConfig, user: str | None, password: str | None) -> ldap3.Connection:
    """Open, secure and bind a connection; raises DirectoryUnreachable or LdapSignInRefused."""
    conn = ldap3.Connection(_server(config), user=user, password=password,
                            receive_timeout=config.timeout, raise_exceptions=False)
    try:
        conn.open()
        if config.url.startswith("ldap://") and config.start_tls and not conn.start_tls():
            raise DirectoryUnreachable(f"{config.url}: StartTLS refused ({conn.result.get('description')}); "
                                       "check the directory's certificate and ca_file")
        if not conn.bind():
            conn.unbind()
            raise LdapSignInRefused(f"bind failed: {conn.result.get('description')}")
    except (ldap_exc.LDAPSocketOpenError, ldap_exc.LDAPSocketReceiveError,
            ldap_exc.LDAPSessionTerminatedByServerError, ldap_exc.LDAPStartTLSError) as exc:
        raise DirectoryUnreachable(f"directory {config.url} unreachable: {exc}; local break-glass "
                                   "accounts can still sign in") from exc
    return conn


def authenticate(config: LdapConfig, username: str, password: str) -> LdapIdentity:
    """Check a user's password against the directory and compute their role from groups.

    :raises LdapSignInRefused: bad name, unknown user, wrong password, locked, or no mapped group.
    :raises DirectoryUnreachable: the directory could not be reached or TLS failed.
    """
    if not _USERNAME.match(username):
        raise LdapSignInRefused("user name has characters no account name uses")
    if not password:
        raise LdapSignInRefused("empty password")  # an empty password is an anonymous bind in LDAP
    search = _connect(config, config.bind_dn, config.bind_password)
    try:
        user_filter = config.user_filter.replace("{username}", escape_filter_chars(username))
        if config.locked_filter:
            user_filter = f"(&{user_filter}(!{config.locked_filter}))"
        search.search(config.user_base, user_filter, attributes=[], size_limit=2)
        entries = [e for e in search.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            raise LdapSignInRefused("no such user, or locked" if not entries else "user name not unique")
        dn = str(entries[0]["dn"])
    finally:
        search.unbind()
    as_user = _connect(config, dn, password)  # the password check: bind as the user
    try:
        as_user.search(config.group_base, f"(member={escape_filter_chars(dn)})", attributes=[])
        groups = tuple(sorted(str(e["dn"]) for e in as_user.response or [] if e.get("type") == "searchResEntry"))
    finally:
        as_user.unbind()
    wanted = {g.lower(): r for g, r in config.group_roles.items()}
    roles = [wanted[g.lower()] for g in groups if g.lower() in wanted]
    if not roles:
        raise LdapSignInRefused("in no group mapped to a radguard role")
    return LdapIdentity(username=username, dn=dn, role=max(roles, key=ROLES.index), groups=groups)
