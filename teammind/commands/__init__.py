"""The `teammind` subcommands that drive the library: run, eval, train, report (argv -> typed specs)."""
