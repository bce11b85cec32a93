"""Sub-commands of the `kling-studio` command line, one module per group.

Each module exposes ``register(subparsers)``, which adds its sub-commands and sets ``func`` on each; a
``func`` takes the parsed arguments and returns the exit code.
"""
