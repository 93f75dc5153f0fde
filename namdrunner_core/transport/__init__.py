"""Transports: how namdrunner reaches a cluster (SSH) or the machine it runs on (Local).

Import from the modules, or use the public names of :mod:`namdrunner_core`."""
