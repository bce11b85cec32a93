"""`python -m kling_studio` is the same as the `kling-studio` command."""

import sys

from kling_studio.cli import main

sys.exit(main())
