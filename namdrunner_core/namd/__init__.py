"""NAMD: config templates, input checks and the log parser (pure logic, no I/O).

Import from the modules, or use the public names of :mod:`namdrunner_core`."""
