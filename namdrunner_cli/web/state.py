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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import AuthenticationError, NamdRunnerError, ValidationError

if TYPE_CHECKING:
    from namdrunner_core.analysis.report import Analysis
    from namdrunner_core.cluster import Session
    from namdrunner_core.jobs.prepare import Planned, PreparedJob
    from namdrunner_core.jobs.sync import SyncReport
    from namdrunner_core.store import JobStore
    from namdrunner_core.transport.console import CommandLog
    from namdrunner_core.transport.ssh import AuthPrompt
    from namdrunner_core.workflow import WorkflowPlan

#: the fastest the server syncs, whatever the pages ask (the CLI's ``watch`` starts at 2 s)
MIN_SYNC_INTERVAL_S = 2.0
#: the server's polling budget: on average at most one remote command per this many seconds for
#: everything the pages refresh by themselves (syncs, log tails, the energy plot), however many tabs
POLL_INTERVAL_S = 10.0
#: a cached log tail or plot younger than this is served as it is, to every tab
FRESH_S = 10.0
#: the longest an automatic sync waits while nothing changes (the pause doubles from POLL_INTERVAL_S)
MAX_QUIET_S = 60.0
#: a browser session (its cookie) ends after this long unused, and after SESSION_MAX_S in any case
SESSION_IDLE_S = 12 * 3600.0
SESSION_MAX_S = 7 * 86400.0


class SyncBusy(NamdRunnerError):
    """A sync is already running, or the last one was less than the minimum interval ago."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RemoteBudget:
    """One polite budget for the remote commands a server runs by itself: a token bucket holding at
    most one command, refilled one command per ``interval_s``. A read may overdraw it (a sync that
    finalizes a job costs three commands): the debt is waited out before the next automatic read.
    What a person asks for (opening a page, Sync now, a button) is neither refused nor charged."""

    def __init__(self, interval_s: float = POLL_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._tokens = 1.0
        self._at = clock()
        self._lock = threading.Lock()
        #: commands charged in all (the figure benchmarks/ and the tests read)
        self.spent = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(1.0, self._tokens + (now - self._at) / self.interval_s)
        self._at = now

    def wait_s(self) -> float:
        """Seconds until an automatic read may run (0: now)."""
        with self._lock:
            self._refill()
            return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) * self.interval_s

    def reserve(self) -> bool:
        """Take the one command an automatic read may run now (atomically: two tabs asking at the same
        moment do not both get it); False when the budget is spent. :meth:`charge` the rest after."""
        with self._lock:
            self._refill()
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            self.spent += 1
            return True

    def charge(self, commands: int) -> None:
        """Record ``commands`` remote commands run (beyond a reserved one)."""
        if commands <= 0:
            return
        with self._lock:
            self._refill()
            self._tokens -= commands
            self.spent += commands


@attrs.frozen(slots=True)
class CachedRead:
    """A remote read kept for every tab: its text, and when it was read (monotonic seconds)."""

    text: str
    at: float
    #: whether the job was still active when it was read (a read of a running job is stale once it ended)
    active: bool = True


@attrs.frozen(slots=True)
class Connection:
    """The header's connection status: ``target`` is user@host, ``via`` the login it uses."""

    connected: bool
    target: str
    via: str
    shared: bool = False


def _hours(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


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
        #: the newest analysis of each job analyzed from the page (its Analysis tab), kept while the server runs
        self.analyses: dict[str, Analysis] = {}
        self._session: Session | None = None
        self._broker_seen: tuple[float, Any] = (-1e9, None)
        self._remote = threading.RLock()
        self._sync = threading.Lock()
        self.last_sync_at: float | None = None
        self.syncs = 0
        self.login: LoginFlow | None = None
        self._login_lock = threading.Lock()
        #: reviewed job plans by draft id (their uploads are in ``drafts/<id>``)
        self.plans: dict[str, Planned[PreparedJob]] = {}
        #: what the last ``cluster detect`` from the page found (for the page that shows and applies it)
        self.detection: Any = None
        #: Slurm's start estimates of reviewed job plans, by draft id (asked for on the review)
        self.estimates: dict[str, Any] = {}
        #: reviewed workflow plans by draft id (uploads and scaled ENM files in ``drafts/<id>``)
        self.wf_plans: dict[str, Planned[WorkflowPlan]] = {}
        #: the form of each draft as last reviewed (values, errors by field, uploaded file names)
        self.forms: dict[str, dict[str, Any]] = {}
        #: the one budget of the remote commands the pages cause by themselves
        self.budget = RemoteBudget()
        #: log tails and plots by (job id, kind): what every tab is shown until a fresh read is due
        self.reads: dict[tuple[str, str], CachedRead] = {}
        #: jobs whose NAMD log a page follows, with when it last asked (monotonic seconds)
        self.followed: dict[str, float] = {}
        #: the pause before the next automatic sync: POLL_INTERVAL_S, doubling while nothing ends
        self.quiet_s = POLL_INTERVAL_S
        self.next_auto_sync_at = 0.0

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
                self._session = self.connect()
            yield self._session

    def connect(self) -> Session:
        """A new session of the profile (through the shared login when one runs, else a key login; a
        password or Duo prompt is refused with the fix): the one of :meth:`remote`, or a background
        download's own, which then never holds up the page's commands."""
        from namdrunner_core.cluster import Cluster

        def no_prompt(prompt: AuthPrompt) -> str:
            raise LoginNeeded(
                f"{prompt.user}@{prompt.host} asks {prompt.text.strip()!r}: log in on the Log in page "
                f"(or start the shared login in a terminal: `namdrunner session start {self.profile}`)"
            )

        return Cluster.from_profile(self.profile).connect(auth=no_prompt)

    @contextmanager
    def counted(self, *, charge: bool = True, reserved: int = 0) -> Iterator[Session]:
        """:meth:`remote`, with the commands it ran (less ``reserved`` ones taken before) charged to the
        polling budget when ``charge`` (what a page does by itself; what a person asked for - opening
        a page, Sync now - is not)."""
        with self.remote() as session:
            before = len(session.command_log.entries())
            try:
                yield session
            finally:
                if charge:
                    self.budget.charge(len(session.command_log.entries()) - before - reserved)

    @property
    def logged_in(self) -> bool:
        """True once a session is open."""
        return self._session is not None

    def connection(self) -> Connection:
        """What the header says of the connection: to whom, and through which login."""
        from namdrunner_core.broker import session_status
        from namdrunner_core.transport.broker_client import BrokerTransport

        session = self._session
        if session is None:
            return Connection(False, "", "")
        target = f"{session.user}@{session.profile.host}"
        if isinstance(session.transport, BrokerTransport):
            asked, info = self._broker_seen
            if time.monotonic() - asked > 15:  # a local question, asked at most every 15 s
                info = session_status(self.profile)
                self._broker_seen = (time.monotonic(), info)
            left = f", ends in {_hours(info.expires_at - time.time())}" if info is not None else ""
            return Connection(True, target, f"the shared login{left}", shared=True)
        return Connection(True, target, "a key login")

    def disconnect(self, *, end_shared: bool = False) -> None:
        """Close the page's session (the next remote action connects again); with ``end_shared`` also
        end the shared login (``namdrunner session stop``: the terminal's commands log in again too)."""
        from namdrunner_core.broker import stop_session

        with self._remote:
            if self._session is not None:
                self._session.close()
                self._session = None
            self.login = None
            self._broker_seen = (-1e9, None)
        if end_shared:
            stop_session(self.profile)

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

    def sync(self, *, manual: bool = False) -> SyncReport:
        """Sync the profile's jobs: never two at once, never sooner than ``min_sync_interval_s`` after
        the last; an automatic one (a page's timer) also only within the polling budget and after
        the current quiet pause, which doubles (to MAX_QUIET_S) while no job changes status
        (:class:`SyncBusy` says when to come back)."""
        from namdrunner_core.jobs.sync import sync_jobs

        if not self._sync.acquire(blocking=False):
            raise SyncBusy("a sync is already running", self.min_sync_interval_s)
        try:
            now = time.monotonic()
            if self.last_sync_at is not None and now - self.last_sync_at < self.min_sync_interval_s:
                raise SyncBusy("synced a moment ago", self.min_sync_interval_s - (now - self.last_sync_at))
            if not manual:
                due = self.next_auto_sync_at - now
                if due > 0 or not self.budget.reserve():
                    raise SyncBusy("waiting, to be polite to the login node", max(due, self.budget.wait_s(), 1.0))
            before = {r.job_id: r.status for r in self.store.list_jobs(active_only=True)}
            with self.counted(charge=not manual, reserved=0 if manual else 1) as session:
                report = sync_jobs(self.store, session)
            moved = bool(report.finished) or any(
                self.store.get_job(j).status is not before.get(j) for j in report.changed if j in before
            )
            self.quiet_s = POLL_INTERVAL_S if moved or manual else min(self.quiet_s * 2, MAX_QUIET_S)
            self.last_sync_at = time.monotonic()
            self.next_auto_sync_at = self.last_sync_at + self.quiet_s
            self.syncs += 1
            return report
        finally:
            self._sync.release()

    def followed_tail(self, job_id: str, *, auto: bool) -> str | None:
        """The NAMD log tail of a running job a page follows. Every followed job's tail is read in ONE
        remote command (:func:`~namdrunner_core.jobs.bulk.log_tails`) when a page's refresh finds the
        budget free and no sync due, so that N tabs cost what one does; None when no tail was read yet
        (the caller reads this one job)."""
        from namdrunner_core.jobs.bulk import log_tails

        now = time.monotonic()
        self.followed = {j: t for j, t in self.followed.items() if now - t < 3 * MAX_QUIET_S}
        self.followed[job_id] = now
        cached = self.reads.get((job_id, "namd"))
        if cached is None:
            return None
        if now - cached.at < FRESH_S:
            return cached.text
        if not auto:
            return None  # a person opened the page: this job's own fresh read, never held back
        if now >= self.next_auto_sync_at or not self.budget.reserve():
            return cached.text
        records = []
        for jid in self.followed:
            try:
                record = self.store.get_job(jid)
            except NamdRunnerError:
                continue
            if record.is_active and record.slurm_job_id:
                records.append(record)
        with self.counted(reserved=1) as session:
            tails = log_tails(session, records)
        at = time.monotonic()
        for jid, text in tails.items():
            self.reads[(jid, "namd")] = CachedRead(text, at, True)
        return self.reads[(job_id, "namd")].text

    def cached_read(self, key: tuple[str, str], read: Callable[[Session], str], *, active: bool, auto: bool,
                    fresh_s: float = FRESH_S) -> str:  # fmt: skip
        """A remote read shared by every tab: the cached text while it is fresh enough (a finished
        job's for good), or when an automatic refresh finds the budget spent; else read again."""
        cached = self.reads.get(key)
        now = time.monotonic()
        if cached is not None:
            final = not active and not cached.active  # read after the job ended: it will not change
            # a page's own refresh waits for the budget, and yields to a sync that is due (one sync
            # brings every job's progress in ONE command: it goes first)
            if final or (active and now - cached.at < fresh_s):
                return cached.text
            if auto and active and (now >= self.next_auto_sync_at or not self.budget.reserve()):
                return cached.text
        elif auto:
            self.budget.charge(1)  # nothing to show yet: read now, and owe it
        with self.counted(charge=auto, reserved=1 if auto else 0) as session:
            text = read(session)
        self.reads[key] = CachedRead(text, time.monotonic(), active)
        return text

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
