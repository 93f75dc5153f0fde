"""``python -m namdrunner_cli`` behaves as ``namdrunner``."""

from namdrunner_cli.main import main

main()
