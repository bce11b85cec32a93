"""Pure-Python heart of Kling Studio: briefs, storyboards, validation, pricing, project files.

Nothing under this package imports Qt, asyncio networking or touches files it was not handed.
"""
