"""Session identity the server issues and can verify (no Streamlit here).

A session id is 32 lowercase hex characters, used as the name of the session's folder under
the runs root. The browser only ever holds it as a *token*: ``<id>.<signature>``, the
signature an HMAC-SHA256 of the id with a server secret. The secret is generated at first
start and kept in ``<runs root>/.session-secret`` (mode 0600), outside the repository; set
``MTL_LAB_SECRET`` to share one secret between several servers. Anything that is not a token
this server signed is refused, never used as a folder name.

A *share token* names one run of one session and gives read-only access to it only:
``v1~<id>~<run id>~<signature>``.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import shutil
from pathlib import Path

from .state import new_session_id, valid_session_id

SECRET_FILE = ".session-secret"
COOKIE = "mtl_lab_session"

_SID = r"[0-9a-f]{32}"
_RUN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
_TOKEN_RE = re.compile(rf"({_SID})\.([0-9a-f]{{32}})")
_SHARE_RE = re.compile(rf"v1~({_SID})~({_RUN})~([0-9a-f]{{32}})")


def _secret_path(root: str | Path) -> Path:
    return Path(root) / SECRET_FILE


def secret(root: str | Path) -> bytes:
    """The server's signing secret: ``MTL_LAB_SECRET`` if set, else the secret file under
    ``root``, created (0600, exclusively, so two servers starting at once agree) if absent."""
    env = os.environ.get("MTL_LAB_SECRET")
    if env:
        return env.encode("utf-8")
    path = _secret_path(root)
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race (or the file is damaged)
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except ValueError:
            path.unlink(missing_ok=True)
            return secret(root)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def _sign(root: str | Path, message: str) -> str:
    return hmac.new(secret(root), message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def token_for(root: str | Path, sid: str) -> str:
    """The signed token the browser carries for session ``sid``."""
    if not valid_session_id(sid):
        raise ValueError("invalid session id")
    return f"{sid}.{_sign(root, 'session:' + sid)}"


def verify(root: str | Path, token: object) -> str | None:
    """The session id a token names, or None when the token is not one this server signed
    (``fullmatch``: a trailing newline or any extra character is refused)."""
    if not isinstance(token, str):
        return None
    m = _TOKEN_RE.fullmatch(token)
    if m is None:
        return None
    sid, sig = m.groups()
    return sid if hmac.compare_digest(sig, _sign(root, "session:" + sid)) else None


def resolve(root: str | Path, cookie_token: object, url_token: object) -> tuple[str, str | None, bool]:
    """Which session a fresh browser connection gets: ``(sid, notice, issued)``.

    The browser's cookie decides: a link can carry a token, but only the browser that owns
    it (its cookie holds the same token) gets that session back. A forged, altered or
    foreign token is refused and a new session is issued (``issued`` is True: set the
    cookie); ``notice`` then says why, for the page.
    """
    own = verify(root, cookie_token)
    from_url = verify(root, url_token)
    notice = None
    if url_token not in (None, "") and (from_url is None or from_url != own):
        notice = ("The session in this link belongs to another browser, so it was not opened; "
                  "ask its owner for a read-only share link to a run." if from_url else
                  "The session id in this link is not one this server issued, so a new session was started.")
    if own:
        return own, notice, False
    return new_session_id(), notice, True


# --------------------------------------------------------------------------- sharing
def share_token(root: str | Path, sid: str, run_id: str) -> str:
    if not re.fullmatch(_SID, sid or "") or not re.fullmatch(_RUN, run_id or ""):
        raise ValueError("invalid session or run id")
    return f"v1~{sid}~{run_id}~{_sign(root, f'share:{sid}/{run_id}')}"


def shared_run(root: str | Path, token: object) -> Path | None:
    """The run directory a share token names (None if forged or the run is gone)."""
    if not isinstance(token, str):
        return None
    m = _SHARE_RE.fullmatch(token)
    if m is None:
        return None
    sid, run_id, sig = m.groups()
    if not hmac.compare_digest(sig, _sign(root, f"share:{sid}/{run_id}")):
        return None
    path = Path(root) / sid / run_id
    return path if (path / "metrics.json").is_file() else None


# --------------------------------------------------------------------------- folders
def session_dir(root: str | Path, sid: str) -> Path:
    """The session's folder (not created: a session that saved nothing has none)."""
    if not valid_session_id(sid):
        raise ValueError("invalid session id")
    return Path(root) / sid


def delete_session_data(root: str | Path, sid: str) -> bool:
    """Remove everything the session saved (runs, its table and choices); True if it had any."""
    path = session_dir(root, sid)
    if not path.is_dir():
        return False
    shutil.rmtree(path)
    return True
