"""A local emulator of the Reactor API and the registry token realm (docs/emulator.md).

Nothing is imported here on purpose: the main CLI imports ``.cli`` on every
run, and the server, JWT and cryptography code load only when it serves.
"""
