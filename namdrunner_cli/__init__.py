"""namdrunner_cli: the ``namdrunner`` command, a thin skin over :mod:`namdrunner_core`."""
