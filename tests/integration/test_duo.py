"""Two-factor login at a person's pace, in Duo's own words (issue: Duo at a person's pace).

Real sshd + PAM on the loopback cluster: port 2223 (password + TOTP code), 2225 (password + the
test cluster's Duo-shaped module: menu, passcode, push, phone call), 2226 (password + automatic push).
The phone is driven by `cluster.sh duo approve N | deny N | never | slow N`.

The slow cases (a person typing for 40 s and 70 s, a push approved after 50 s) run side by side, so
the file costs about 70 s of wall time, not three minutes.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from namdrunner_core.errors import AuthenticationError, ConnectionFailedError
from namdrunner_core.transport.ssh import AuthPrompt, SecondFactor, SSHTarget, SSHTransport
from tests.conftest import CLUSTER_SCRIPT, ClusterEnv, cluster_vars, totp

pytestmark = pytest.mark.cluster


def duo(*args: str) -> None:
    subprocess.run(["bash", str(CLUSTER_SCRIPT), "duo", *args], check=True, capture_output=True)


def target(cluster: ClusterEnv, port: int, second_factor: SecondFactor = "ask", **kw: float) -> SSHTarget:
    return SSHTarget(
        host=cluster.host,
        port=port,
        user=cluster.user,
        use_agent=False,
        look_for_keys=False,
        host_key_policy="ignore",
        second_factor=second_factor,
        **kw,  # type: ignore[arg-type]
    )


class Person:
    """Answers prompts as a person would: after ``delay`` seconds, with the password, a code or a choice."""

    def __init__(self, cluster: ClusterEnv, *, delay: float = 0.0, code: str | None = None, choice: str | None = None):
        self.cluster, self.delay, self.code, self.choice = cluster, delay, code, choice
        self.prompts: list[AuthPrompt] = []
        self.notices: list[str] = []

    def __call__(self, p: AuthPrompt) -> str:
        self.prompts.append(p)
        time.sleep(self.delay)
        if "assword" in p.text:
            return self.cluster.password
        if "option" in p.text.lower() and self.choice is not None:
            return self.choice
        return self.code if self.code is not None else totp(self.cluster.totp_secret)

    def notice(self, text: str) -> None:
        self.notices.append(text)


def login(t: SSHTarget, person: Person) -> tuple[str, float, int]:
    start = time.monotonic()
    with SSHTransport(t, auth=person, notify=person.notice) as ssh:
        who = ssh.run(["whoami"]).stdout.strip()
        ssh.run(["true"])
        return who, time.monotonic() - start, ssh.authentications


def test_a_persons_pace_and_a_slow_phone(cluster: ClusterEnv) -> None:
    env = cluster_vars()
    duo("approve", "50")
    try:
        typing_40 = Person(cluster, delay=40)
        typing_70 = Person(cluster, delay=35)  # two prompts (password, code): 70 s of answering in all
        phone = Person(cluster)
        jobs: dict[str, Callable[[], tuple[str, float, int]]] = {
            "40 s": lambda: login(target(cluster, cluster.port_2fa), typing_40),
            "70 s": lambda: login(target(cluster, cluster.port_2fa), typing_70),
            "push": lambda: login(target(cluster, int(env["NR_TEST_DUO_PORT"]), "push"), phone),
        }
        with ThreadPoolExecutor(3) as pool:
            results = {name: pool.submit(fn) for name, fn in jobs.items()}
            done = {name: f.result() for name, f in results.items()}
    finally:
        duo("approve", "1")
    for name, (who, _elapsed, auths) in done.items():
        assert who == cluster.user, name
        assert auths == 1, name  # one login per session, however long it took
    assert done["40 s"][1] >= 40  # no clock ran while the person typed (paramiko's own would stop at 30 s)
    assert done["70 s"][1] >= 70
    assert done["push"][1] >= 50  # the phone got its own limit (120 s), not the network's 30 s
    assert any("Duo push sent" in n and "approve it on your phone" in n for n in phone.notices), phone.notices
    assert [p.text for p in phone.prompts] == ["Password: "]  # the profile's choice answered the menu


def test_duos_menu_reaches_the_prompt_whole(cluster: ClusterEnv) -> None:
    env = cluster_vars()
    person = Person(cluster, code=env["NR_TEST_DUO_PASSCODE"])
    who, _, _ = login(target(cluster, int(env["NR_TEST_DUO_PORT"])), person)
    assert who == cluster.user
    menu = person.prompts[-1]
    # OpenSSH hands Duo's menu lines (PAM text messages) over inside the prompt itself
    assert menu.text.endswith("Passcode or option (1-2): ")
    assert menu.echo  # Duo's menu is echo-on
    shown = f"{menu.title}\n{menu.instructions}\n{menu.text}"
    for line in (
        f"Duo two-factor login for {cluster.user}",
        "Enter a passcode or select one of the following options:",
        " 1. Duo Push to XXX-XXX-1234",
        " 2. Phone call to XXX-XXX-1234",
    ):
        assert line in shown, shown
    assert not person.prompts[0].echo  # the password is hidden


def test_push_denied_and_push_never_approved(cluster: ClusterEnv) -> None:
    env = cluster_vars()
    port = int(env["NR_TEST_DUO_PORT"])
    duo("deny", "1")
    try:
        with pytest.raises(AuthenticationError, match="denied"):
            login(target(cluster, port, "push"), Person(cluster))
        duo("never")
        start = time.monotonic()
        with pytest.raises(AuthenticationError, match=r"not approved within 6 s"):
            login(target(cluster, port, "push", push_timeout_s=6), Person(cluster))
        assert time.monotonic() - start < 30
    finally:
        duo("approve", "1")


def test_autopush_sites(cluster: ClusterEnv) -> None:
    env = cluster_vars()
    duo("approve", "3")
    try:
        person = Person(cluster)
        who, elapsed, _ = login(target(cluster, int(env["NR_TEST_DUOAUTO_PORT"]), "autopush"), person)
    finally:
        duo("approve", "1")
    assert who == cluster.user
    assert elapsed >= 3
    assert [p.text for p in person.prompts] == ["Password: "]  # no second prompt at all
    assert any("Duo push sent" in n for n in person.notices)


def test_each_failure_says_what_happened(cluster: ClusterEnv) -> None:
    env = cluster_vars()
    port = int(env["NR_TEST_DUO_PORT"])

    class WrongPassword(Person):
        def __call__(self, p: AuthPrompt) -> str:
            return "not-the-password" if "assword" in p.text else super().__call__(p)

    with pytest.raises(AuthenticationError, match="wrong password"):
        login(target(cluster, port), WrongPassword(cluster, code=env["NR_TEST_DUO_PASSCODE"]))
    with pytest.raises(AuthenticationError, match="wrong or expired code"):
        login(target(cluster, port), Person(cluster, code="999999"))
    with pytest.raises(AuthenticationError, match="wrong or expired code"):
        login(target(cluster, cluster.port_2fa), Person(cluster, code="000000"))
    duo("slow", "20")  # the service sits on a right passcode: that is the network's fault, not the person's
    try:
        start = time.monotonic()
        with pytest.raises(ConnectionFailedError, match=r"did not answer within 4 s \(network time-out"):
            login(target(cluster, port, auth_network_timeout_s=4), Person(cluster, code=env["NR_TEST_DUO_PASSCODE"]))
        assert time.monotonic() - start < 15
    finally:
        duo("approve", "1")
