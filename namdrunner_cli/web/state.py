"""What one ``namdrunner ui`` server holds: its secrets, the store, ONE session, the sync guard.

The web layer is a frontend like the command line: every page calls the same public core
functions. This module only keeps the things a long-running server must own: the random token and
cookie, the CSRF secret, one lazily opened :class:`~namdrunner_core.cluster.Session` used by one
request at a time (a session is one SSH connection), and the rule that at most one sync is in
flight and syncs come no faster than the CLI's ``watch`` would poll.
"""

from __future__ import annotations

import hmac
import queue
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from namdrunner_core.errors import AuthenticationError, NamdRunnerError, ValidationError

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.jobs.prepare import Planned, PreparedJob
    from namdrunner_core.jobs.sync import SyncReport
    from namdrunner_core.store import JobStore
    from namdrunner_core.transport.console import CommandLog
    from namdrunner_core.transport.ssh import AuthPrompt
    from namdrunner_core.workflow import WorkflowPlan

#: the fastest the server syncs, whatever the pages ask (the CLI's ``watch`` starts at 2 s)
MIN_SYNC_INTERVAL_S = 2.0
#: a browser session (its cookie) ends after this long unused, and after SESSION_MAX_S in any case
SESSION_IDLE_S = 12 * 3600.0
SESSION_MAX_S = 7 * 86400.0


class SyncBusy(NamdRunnerError):
    """A sync is already running, or the last one was less than the minimum interval ago."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class LoginNeeded(AuthenticationError):
    """The cluster asks for a password or a code: the person answers on the Log in page."""


class LoginFlow:
    """A login in progress in a background thread: the server's questions reach the page one at a
    time (:attr:`question`), the page's answers come back through :meth:`answer`. Answers are
    handed over once and never kept, logged or shown again."""

    #: how long a question waits for the person before the login gives up
    ANSWER_TIMEOUT_S = 300.0

    def __init__(self) -> None:
        self.question: AuthPrompt | None = None
        self.asked = 0
        self.notices: list[str] = []
        self.error: str | None = None
        self.done = threading.Event()
        self._answers: queue.Queue[str] = queue.Queue(maxsize=1)

    def ask(self, prompt: AuthPrompt) -> str:
        """The auth callback: show ``prompt`` on the page and wait for its answer."""
        self.question = prompt
        self.asked += 1
        try:
            return self._answers.get(timeout=self.ANSWER_TIMEOUT_S)
        except queue.Empty:
            raise AuthenticationError("nobody answered the login question on the page in 5 minutes") from None
        finally:
            self.question = None

    def answer(self, text: str) -> None:
        """The person's answer to the current question."""
        asked = self.question
        if asked is None or self._answers.full():
            raise ValidationError("answer", "there is no login question to answer (it may have timed out)")
        self._answers.put_nowait(text)
        deadline = time.monotonic() + 2.0  # the page shown next must not offer the same question again
        while self.question is asked and time.monotonic() < deadline:
            time.sleep(0.02)

    def notice(self, text: str) -> None:
        """A line the login shows a person (e.g. "Duo push sent")."""
        self.notices.append(text)


class UiState:
    """One server's state. ``token`` is the secret of the printed URL; the first visit with it
    gets ``cookie`` (HttpOnly, SameSite=Strict); every POST must carry ``csrf``."""

    def __init__(self, profile: str, store: JobStore, *, min_sync_interval_s: float = MIN_SYNC_INTERVAL_S) -> None:
        self.profile = profile
        self.store = store
        #: the key `namdrunner ui` prints: typed (or posted by the launcher file) once per browser,
        #: never part of an address
        self.token = secrets.token_urlsafe(32)
        self.csrf = secrets.token_urlsafe(32)
        #: live browser sessions: cookie value -> (created, last used), monotonic seconds
        self._sessions: dict[str, tuple[float, float]] = {}
        self._sessions_lock = threading.Lock()
        #: the launcher file the browser was opened with (it holds the key): removed at first use
        self.launcher: Path | None = None
        self.min_sync_interval_s = min_sync_interval_s
        self.drafts = Path(tempfile.mkdtemp(prefix="namdrunner-ui-"))
        self._session: Session | None = None
        self._remote = threading.RLock()
        self._sync = threading.Lock()
        self.last_sync_at: float | None = None
        self.syncs = 0
        self.login: LoginFlow | None = None
        self._login_lock = threading.Lock()
        #: reviewed job plans by draft id (their uploads are in ``drafts/<id>``)
        self.plans: dict[str, Planned[PreparedJob]] = {}
        #: reviewed workflow plans by draft id (uploads and scaled ENM files in ``drafts/<id>``)
        self.wf_plans: dict[str, Planned[WorkflowPlan]] = {}
        #: the form of each draft as last reviewed (values, errors by field, uploaded file names)
        self.forms: dict[str, dict[str, Any]] = {}

    # -- secrets --------------------------------------------------------------------------------
    def token_ok(self, given: str | None) -> bool:
        """The URL token, compared in constant time."""
        return bool(given) and hmac.compare_digest(str(given), self.token)

    def new_session(self) -> str:
        """A new browser session (after the key was given): its cookie value. The launcher file,
        which holds the key, is removed: it has done its work."""
        cookie = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._sessions_lock:
            self._sessions[cookie] = (now, now)
        self.remove_launcher()
        return cookie

    def cookie_ok(self, given: str | None) -> bool:
        """A live session's cookie (unused for less than SESSION_IDLE_S, younger than SESSION_MAX_S);
        using it keeps it alive."""
        if not given:
            return False
        now = time.monotonic()
        with self._sessions_lock:
            for cookie, (created, used) in list(self._sessions.items()):
                if now - used > SESSION_IDLE_S or now - created > SESSION_MAX_S:
                    del self._sessions[cookie]
            for cookie, (created, _used) in self._sessions.items():
                if hmac.compare_digest(str(given), cookie):
                    self._sessions[cookie] = (created, now)
                    return True
        return False

    def end_session(self, given: str | None) -> None:
        """Log a browser out: its cookie stops working at once."""
        with self._sessions_lock:
            for cookie in list(self._sessions):
                if given and hmac.compare_digest(str(given), cookie):
                    del self._sessions[cookie]

    def remove_launcher(self) -> None:
        """Remove the launcher file and its private folder (idempotent)."""
        if self.launcher is not None:
            shutil.rmtree(self.launcher.parent, ignore_errors=True)
            self.launcher = None

    def csrf_ok(self, given: str | None) -> bool:
        """A form's or header's CSRF token, compared in constant time."""
        return bool(given) and hmac.compare_digest(str(given), self.csrf)

    # -- the one session ------------------------------------------------------------------------
    @contextmanager
    def remote(self) -> Iterator[Session]:
        """The session, for one request at a time (opened on first use: a shared ``namdrunner
        session`` when one runs, else a key login; a password or Duo prompt is refused with the fix)."""
        with self._remote:
            if self._session is None:
                from namdrunner_core.cluster import Cluster

                def no_prompt(prompt: AuthPrompt) -> str:
                    raise LoginNeeded(
                        f"{prompt.user}@{prompt.host} asks {prompt.text.strip()!r}: log in on the Log in page "
                        f"(or start the shared login in a terminal: `namdrunner session start {self.profile}`)"
                    )

                self._session = Cluster.from_profile(self.profile).connect(auth=no_prompt)
            yield self._session

    @property
    def logged_in(self) -> bool:
        """True once a session is open."""
        return self._session is not None

    def start_login(self) -> LoginFlow:
        """Start the shared session (``namdrunner session start``) in the background, its questions
        (password, Duo's menu, a code) answered on the page; a flow already running, or a session
        already open, is left as it is."""
        with self._login_lock:
            if self._session is not None or (self.login is not None and not self.login.done.is_set()):
                return self.login or LoginFlow()
            flow = self.login = LoginFlow()

        def run() -> None:
            from namdrunner_core.broker import start_session
            from namdrunner_core.cluster import Cluster

            def after_login(prompt: AuthPrompt) -> str:
                raise LoginNeeded(f"{prompt.user}@{prompt.host} asked again after the shared login started")

            try:
                # the SHARED session (`namdrunner session`): the questions are relayed to this page, and
                # the terminal's namdrunner commands use the same login until it ends
                start_session(self.profile, auth=flow.ask, notify=flow.notice)
                session = Cluster.from_profile(self.profile).connect(auth=after_login)
                with self._remote:
                    if self._session is None:
                        self._session = session
                    else:
                        session.close()
            except NamdRunnerError as exc:
                flow.error = str(exc)
            finally:
                flow.done.set()

        threading.Thread(target=run, name="namdrunner-ui-login", daemon=True).start()
        return flow

    @property
    def command_log(self) -> CommandLog | None:
        """The session's command log (None before the first remote command)."""
        return self._session.command_log if self._session is not None else None

    def sync(self) -> SyncReport:
        """Sync the profile's jobs: never two at once, never sooner than ``min_sync_interval_s``
        after the last (:class:`SyncBusy` says when to come back)."""
        from namdrunner_core.jobs.sync import sync_jobs

        if not self._sync.acquire(blocking=False):
            raise SyncBusy("a sync is already running", self.min_sync_interval_s)
        try:
            now = time.monotonic()
            if self.last_sync_at is not None and now - self.last_sync_at < self.min_sync_interval_s:
                raise SyncBusy("synced a moment ago", self.min_sync_interval_s - (now - self.last_sync_at))
            with self.remote() as session:
                report = sync_jobs(self.store, session)
            self.last_sync_at = time.monotonic()
            self.syncs += 1
            return report
        finally:
            self._sync.release()

    def switch_profile(self, name: str) -> None:
        """Serve another cluster profile: its session is opened on first use (the old one is closed;
        a shared session of the old profile keeps running for the terminal)."""
        from namdrunner_core.profile import check_profile_name, load_profile

        check_profile_name(name)
        load_profile(name)  # a broken profile is refused here, with its file and key
        with self._remote:
            if self._session is not None:
                self._session.close()
                self._session = None
            self.profile = name
            self.login = None
            self.last_sync_at = None

    def close(self) -> None:
        """Close the session and remove uploaded drafts and the launcher file."""
        self.remove_launcher()
        shutil.rmtree(self.drafts, ignore_errors=True)  # first: a request may still hold the session
        with self._remote:
            if self._session is not None:
                self._session.close()
                self._session = None
