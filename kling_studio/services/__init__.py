"""Asyncio services: fal queue client, simulator, job store and runner, downloads, secrets, media.

No Qt here: the UI subscribes to the events these services publish.
"""
