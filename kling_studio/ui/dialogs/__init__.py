"""Dialogs of the studio window; every one is opened with ``open()`` and answers through signals."""
