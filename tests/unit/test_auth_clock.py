"""The login clock counts the network only, and Duo's menu is read for its push / phone options."""

from __future__ import annotations

import time

from namdrunner_core.transport.ssh import _AuthClock, duo_option

MENU = """Duo two-factor login for jdoe

Enter a passcode or select one of the following options:

 1. Duo Push to XXX-XXX-1234
 2. Phone call to XXX-XXX-1234
 3. SMS passcodes to XXX-XXX-1234

Passcode or option (1-3): """


def test_duo_menu_options() -> None:
    assert duo_option(MENU, "push") == "1"
    assert duo_option(MENU, "phone") == "2"
    assert duo_option("Passcode: ", "push") is None


def test_no_clock_runs_while_a_person_answers() -> None:
    clock = _AuthClock(network_s=0.05, push_s=1.0)
    clock.prompting()
    time.sleep(0.1)
    assert not clock.check()  # typing for longer than the network limit: fine
    clock.answered()
    assert not clock.check()
    time.sleep(0.1)
    assert clock.check()
    assert clock.expired == "network"
    assert not clock.check()  # reported once


def test_a_push_gets_its_own_limit() -> None:
    clock = _AuthClock(network_s=0.05, push_s=0.3)
    clock.answered("push")
    time.sleep(0.1)
    assert not clock.check()  # past the network limit, within the push limit
    time.sleep(0.3)
    assert clock.check()
    assert clock.expired == "push"
