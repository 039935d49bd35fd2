"""Build and install Citus from its source tarball against Debian's PostgreSQL 15 (idempotent).

No package registry here carries Citus for PostgreSQL 15, so `wangge db up --citus` builds the
release in vendor/citus/ (or WANGGE_CITUS_SOURCE): Debian's server headers and the libraries
`configure` asks for (apt, as root), the compatibility patch beside the tarball, `configure`,
`make`, `make install`. When the installed extension is already this release nothing happens.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from gis.localdb import PG_BIN, PG_MAJOR, LocalDbError, Say, _is_root

PG_CONFIG = PG_BIN / "pg_config"
CONTROL = Path(f"/usr/share/postgresql/{PG_MAJOR}/extension/citus.control")
LIBRARY = Path(f"/usr/lib/postgresql/{PG_MAJOR}/lib/citus.so")
# Headers and the libraries Citus's configure checks for; libcurl is left out on purpose
# (--without-libcurl: it only serves Citus's anonymous usage statistics, unwanted on an intranet).
BUILD_PACKAGES = [
    f"postgresql-server-dev-{PG_MAJOR}", "build-essential", "patch", "liblz4-dev", "libzstd-dev",
    "libkrb5-dev", "libselinux1-dev", "libxslt1-dev", "libpam0g-dev", "libreadline-dev",
    "zlib1g-dev", "libssl-dev",
]


def release_of(source: Path) -> str:
    """'13.2' from citus-13.2.2.tar.gz: the extension version line the tarball installs."""
    match = re.search(r"citus-(\d+)\.(\d+)\.\d+", source.name)
    if not match:
        raise LocalDbError(f"{source.name}: expected a Citus release tarball named "
                           "citus-X.Y.Z.tar.gz (WANGGE_CITUS_SOURCE)")
    return f"{match.group(1)}.{match.group(2)}"


def installed_version() -> str | None:
    """The installed extension's default version ('13.2-1'), or None when Citus is missing."""
    if not (CONTROL.exists() and LIBRARY.exists()):
        return None
    match = re.search(r"default_version\s*=\s*'([^']+)'", CONTROL.read_text())
    return match.group(1) if match else None


def _run(cmd: list[str], cwd: Path | None, what: str, env: dict | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-600:]
        raise LocalDbError(f"{what} failed:\n{tail}")


def _missing_packages() -> list[str]:
    missing = []
    for pkg in BUILD_PACKAGES:
        probe = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                               capture_output=True, text=True)
        if "install ok installed" not in probe.stdout:
            missing.append(pkg)
    return missing


def _install_packages(say: Say) -> None:
    missing = _missing_packages()
    if not missing:
        return
    if not _is_root() or shutil.which("apt-get") is None:
        raise LocalDbError("building Citus needs: sudo apt-get install -y " + " ".join(missing))
    say(f"installing the Citus build dependencies: {' '.join(missing)} (apt-get) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], None, "apt-get update", env)
    _run(["apt-get", "install", "-y", "-qq", *missing], None, "apt-get install", env)


def ensure_citus(source: Path, say: Say) -> bool:
    """Build and install Citus from `source` unless that release is installed; True if built.

    Installing the server headers can upgrade Debian's PostgreSQL in place: restart clusters
    that were running before (the caller does, see gis.citus_local.up).
    """
    wanted = release_of(source)
    have = installed_version()
    if have and have.startswith(wanted + "-"):
        return False
    if not source.exists():
        raise LocalDbError(f"Citus source not found: {source} (set WANGGE_CITUS_SOURCE to a "
                           "citus-X.Y.Z.tar.gz release tarball)")
    if not _is_root():
        raise LocalDbError("Citus is not installed and building it installs into the system: "
                           "run `wangge db up --citus` as root once")
    _install_packages(say)
    say(f"building Citus {wanted} from {source} (a few minutes) ...")
    with tempfile.TemporaryDirectory(prefix="citus-build-") as tmp:
        with tarfile.open(source) as archive:
            archive.extractall(tmp, filter="data")
        (tree,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        for patch in sorted(source.parent.glob("*.patch")):
            _run(["patch", "-p1", "-i", str(patch)], tree, f"applying {patch.name}")
        _run(["./configure", f"PG_CONFIG={PG_CONFIG}", "--without-libcurl"], tree,
             "configure (see config.log in the build tree)")
        jobs = str(os.cpu_count() or 2)
        # with_llvm=no: no JIT bitcode, so clang is not needed
        _run(["make", "-j", jobs, "with_llvm=no"], tree, "make")
        _run(["make", "install", "with_llvm=no"], tree, "make install")
    version = installed_version()
    if not version:
        raise LocalDbError("make install finished but citus.control is missing")
    say(f"installed Citus {version}")
    return True
