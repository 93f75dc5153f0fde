"""Slurm: resources, batch scripts, states and parsers (pure logic, no I/O).

Import from the modules, or use the public names of :mod:`namdrunner_core`."""
