"""The local web frontend of ``namdrunner ui`` (see :mod:`namdrunner_cli.web.app`)."""
