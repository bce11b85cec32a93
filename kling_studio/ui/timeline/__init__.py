"""The shot timeline: a QGraphicsScene with one item per shot, over the project's storyboard.

The scene never owns state: it redraws from ``project.changed`` and sends every edit through the
:class:`~kling_studio.ui.edits.ProjectEditor`. A drag previews in the scene only and commits one command on
release.
"""

from kling_studio.ui.timeline.scene import TimelineScene
from kling_studio.ui.timeline.shot_item import ShotItem
from kling_studio.ui.timeline.view import TimelineView
from kling_studio.ui.timeline.widget import TimelineWidget

__all__ = ["ShotItem", "TimelineScene", "TimelineView", "TimelineWidget"]
