"""The `needle` command line (entry point: `engine.cli.main:main`), a thin shell over `Engine`."""
