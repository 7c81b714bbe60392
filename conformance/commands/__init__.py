"""One module per ``conformance`` sub-command: ``register(subparsers)`` adds its parser,
whose ``func`` default is the module's ``main(args) -> int``."""
