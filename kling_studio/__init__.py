"""Kling Studio: a desktop studio for Kling V3 video on fal."""


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed package's metadata when first asked for.

    ``importlib.metadata`` (with the ``email`` package it pulls in) costs ~50 ms to import; every process
    imports this package first, so the window would paint that much later for a number it never shows.
    """
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("kling-studio")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0.0.0+source"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
