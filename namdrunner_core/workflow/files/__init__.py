"""Builtin workflow files (package data): ``namdrunner workflow template list`` shows them."""
