"""Jobs: the record, the lifecycle, sync and discovery, and the remote-delete safety check.

Import from the modules, or use the public names of :mod:`namdrunner_core`."""
