"""Kling Studio: a desktop studio for Kling V3 video on fal."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kling-studio")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
