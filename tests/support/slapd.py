"""A real OpenLDAP slapd for the sign-in tests: its own cn=config, self-signed TLS, random port.

Why real: bind semantics, filter escaping and TLS are exactly what a hand-written fake would get
wrong. Everything lives in a temporary directory, built with slapadd, so nothing touches the
machine's own /etc/ldap.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, stop_group, wait_for_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=hospital,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret-for-tests"


@dataclass(frozen=True)
class Slapd:
    """A running slapd: where to reach it and how to change its directory."""

    host: str
    ldaps_port: int
    ldap_port: int
    ca_file: Path
    ldapi_url: str

    def ldapmodify(self, ldif: str) -> None:
        """Change the directory as the admin (over ldapi, so no TLS set-up is needed)."""
        subprocess.run(
            ["/usr/bin/ldapmodify", "-x", "-H", self.ldapi_url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
            input=ldif.encode(),
            check=True,
            capture_output=True,
        )


def _config_ldif(base: Path) -> str:
    schema = Path("/etc/ldap/schema")
    includes = "".join(
        f"include: file://{schema / name}.ldif\n" for name in ("core", "cosine", "nis", "inetorgperson")
    )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {base}/slapd.pid
olcTLSCertificateFile: {base}/cert.pem
olcTLSCertificateKeyFile: {base}/key.pem

dn: cn=module,cn=config
objectClass: olcModuleList
cn: module
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcDbDirectory: {base}/db
olcDbMaxSize: 33554432
olcAccess: to attrs=userPassword by anonymous auth by self write by * none
olcAccess: to * by * read
"""


def _data_ldif(users: dict[str, str]) -> str:
    """Base entries; `users` maps uid to password. Groups and locks are added by the tests."""
    out = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: hospital\no: Test Hospital\n",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for uid, password in users.items():
        out.append(
            f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {uid}\nsn: {uid}\nuserPassword: {password}\n"
        )
    return "\n".join(out)


@contextmanager
def running_slapd(base: Path, users: dict[str, str]) -> Iterator[Slapd]:
    """Start slapd on random loopback ports (ldap:// for StartTLS, ldaps://, and ldapi)."""
    base.mkdir(parents=True, exist_ok=True)
    (base / "slapd.d").mkdir()
    (base / "db").mkdir()
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(base / "key.pem"), "-out", str(base / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    ldap_port, ldaps_port = free_port(), free_port()
    (base / "config.ldif").write_text(_config_ldif(base))
    subprocess.run([SLAPADD, "-n0", "-F", str(base / "slapd.d"), "-l", str(base / "config.ldif")],
                   check=True, capture_output=True)  # fmt: skip
    (base / "data.ldif").write_text(_data_ldif(users))
    subprocess.run([SLAPADD, "-n1", "-F", str(base / "slapd.d"), "-l", str(base / "data.ldif")],
                   check=True, capture_output=True)  # fmt: skip
    sock = base / "ldapi"
    ldapi_url = "ldapi://" + str(sock).replace("/", "%2F")
    urls = f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/ {ldapi_url}"
    with (base / "slapd.log").open("wb") as log:  # slapd keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [SLAPD, "-d", "0", "-F", str(base / "slapd.d"), "-h", urls],
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for_port("127.0.0.1", ldaps_port)
        wait_for_port("127.0.0.1", ldap_port)
        yield Slapd("127.0.0.1", ldaps_port, ldap_port, base / "cert.pem", ldapi_url)
    finally:
        stop_group(proc)
        shutil.rmtree(base / "db", ignore_errors=True)
